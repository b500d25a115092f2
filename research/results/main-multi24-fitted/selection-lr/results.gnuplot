set terminal pngcairo size 1260,680 font 'sans,9'
set output 'research/results/main-multi24-fitted/selection-lr/results.png'
set multiplot layout 2,3
set datafile missing 'NaN'
set key bottom right
set grid
set ylabel 'validation accuracy (%)'
set xlabel 'epoch'
set title '3x64'
plot 'research/results/main-multi24-fitted/selection-lr/curve_3x64.dat' using 1:2 with linespoints title 'wave-multi24-fit-lr3e-4', 'research/results/main-multi24-fitted/selection-lr/curve_3x64.dat' using 1:4 with linespoints title 'wave-multi24-fit-lr1e-3', 'research/results/main-multi24-fitted/selection-lr/curve_3x64.dat' using 1:6 with linespoints title 'wave-multi24-fit-lr3e-3'
set title '4x96'
plot 'research/results/main-multi24-fitted/selection-lr/curve_4x96.dat' using 1:2 with linespoints title 'wave-multi24-fit-lr3e-4', 'research/results/main-multi24-fitted/selection-lr/curve_4x96.dat' using 1:4 with linespoints title 'wave-multi24-fit-lr1e-3', 'research/results/main-multi24-fitted/selection-lr/curve_4x96.dat' using 1:6 with linespoints title 'wave-multi24-fit-lr3e-3'
set title '12x128'
plot 'research/results/main-multi24-fitted/selection-lr/curve_12x128.dat' using 1:2 with linespoints title 'wave-multi24-fit-lr3e-4', 'research/results/main-multi24-fitted/selection-lr/curve_12x128.dat' using 1:4 with linespoints title 'wave-multi24-fit-lr1e-3', 'research/results/main-multi24-fitted/selection-lr/curve_12x128.dat' using 1:6 with linespoints title 'wave-multi24-fit-lr3e-3'
set xlabel 'image passes (fit + training)'
set title '3x64'
plot 'research/results/main-multi24-fitted/selection-lr/curve_3x64.dat' using 3:2 with linespoints title 'wave-multi24-fit-lr3e-4', 'research/results/main-multi24-fitted/selection-lr/curve_3x64.dat' using 5:4 with linespoints title 'wave-multi24-fit-lr1e-3', 'research/results/main-multi24-fitted/selection-lr/curve_3x64.dat' using 7:6 with linespoints title 'wave-multi24-fit-lr3e-3'
set title '4x96'
plot 'research/results/main-multi24-fitted/selection-lr/curve_4x96.dat' using 3:2 with linespoints title 'wave-multi24-fit-lr3e-4', 'research/results/main-multi24-fitted/selection-lr/curve_4x96.dat' using 5:4 with linespoints title 'wave-multi24-fit-lr1e-3', 'research/results/main-multi24-fitted/selection-lr/curve_4x96.dat' using 7:6 with linespoints title 'wave-multi24-fit-lr3e-3'
set title '12x128'
plot 'research/results/main-multi24-fitted/selection-lr/curve_12x128.dat' using 3:2 with linespoints title 'wave-multi24-fit-lr3e-4', 'research/results/main-multi24-fitted/selection-lr/curve_12x128.dat' using 5:4 with linespoints title 'wave-multi24-fit-lr1e-3', 'research/results/main-multi24-fitted/selection-lr/curve_12x128.dat' using 7:6 with linespoints title 'wave-multi24-fit-lr3e-3'
unset multiplot
