set terminal pngcairo size 840,680 font 'sans,9'
set output 'docs/eval/main-multi24-fitted/selection-fit-steps/results.png'
set multiplot layout 2,2
set datafile missing 'NaN'
set key bottom right
set grid
set ylabel 'validation accuracy (%)'
set xlabel 'epoch'
set title '3x64'
plot 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 1:2 with linespoints title 'wave-multi24-fit-s0', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 1:4 with linespoints title 'wave-multi24-fit-s25', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 1:6 with linespoints title 'wave-multi24-fit-s50', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 1:8 with linespoints title 'wave-multi24-fit-s100', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 1:10 with linespoints title 'wave-multi24-fit-s200', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 1:12 with linespoints title 'wave-multi24-fit-s400'
set title '4x96'
plot 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 1:2 with linespoints title 'wave-multi24-fit-s0', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 1:4 with linespoints title 'wave-multi24-fit-s25', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 1:6 with linespoints title 'wave-multi24-fit-s50', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 1:8 with linespoints title 'wave-multi24-fit-s100', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 1:10 with linespoints title 'wave-multi24-fit-s200', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 1:12 with linespoints title 'wave-multi24-fit-s400'
set xlabel 'image passes (fit + training)'
set title '3x64'
plot 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 3:2 with linespoints title 'wave-multi24-fit-s0', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 5:4 with linespoints title 'wave-multi24-fit-s25', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 7:6 with linespoints title 'wave-multi24-fit-s50', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 9:8 with linespoints title 'wave-multi24-fit-s100', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 11:10 with linespoints title 'wave-multi24-fit-s200', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_3x64.dat' using 13:12 with linespoints title 'wave-multi24-fit-s400'
set title '4x96'
plot 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 3:2 with linespoints title 'wave-multi24-fit-s0', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 5:4 with linespoints title 'wave-multi24-fit-s25', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 7:6 with linespoints title 'wave-multi24-fit-s50', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 9:8 with linespoints title 'wave-multi24-fit-s100', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 11:10 with linespoints title 'wave-multi24-fit-s200', 'docs/eval/main-multi24-fitted/selection-fit-steps/curve_4x96.dat' using 13:12 with linespoints title 'wave-multi24-fit-s400'
unset multiplot
