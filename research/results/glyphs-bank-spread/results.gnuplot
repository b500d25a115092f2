set terminal pngcairo size 840,680 font 'sans,9'
set output 'research/results/glyphs-bank-spread/results.png'
set multiplot layout 2,2
set datafile missing 'NaN'
set key bottom right
set grid
set ylabel 'test accuracy (%)'
set xlabel 'epoch'
set title '3x64'
plot 'research/results/glyphs-bank-spread/curve_3x64.dat' using 1:2 with linespoints title 'bank-seed1', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 1:4 with linespoints title 'bank-seed2', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 1:6 with linespoints title 'bank-seed3', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 1:8 with linespoints title 'bf16-seed1', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 1:10 with linespoints title 'bf16-seed2'
set title '4x96'
plot 'research/results/glyphs-bank-spread/curve_4x96.dat' using 1:2 with linespoints title 'bank-seed1', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 1:4 with linespoints title 'bank-seed2', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 1:6 with linespoints title 'bank-seed3', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 1:8 with linespoints title 'bf16-seed1', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 1:10 with linespoints title 'bf16-seed2'
set xlabel 'image passes (fit + training)'
set title '3x64'
plot 'research/results/glyphs-bank-spread/curve_3x64.dat' using 3:2 with linespoints title 'bank-seed1', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 5:4 with linespoints title 'bank-seed2', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 7:6 with linespoints title 'bank-seed3', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 9:8 with linespoints title 'bf16-seed1', 'research/results/glyphs-bank-spread/curve_3x64.dat' using 11:10 with linespoints title 'bf16-seed2'
set title '4x96'
plot 'research/results/glyphs-bank-spread/curve_4x96.dat' using 3:2 with linespoints title 'bank-seed1', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 5:4 with linespoints title 'bank-seed2', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 7:6 with linespoints title 'bank-seed3', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 9:8 with linespoints title 'bf16-seed1', 'research/results/glyphs-bank-spread/curve_4x96.dat' using 11:10 with linespoints title 'bf16-seed2'
unset multiplot
