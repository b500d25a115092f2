set terminal pngcairo size 1260,680 font 'sans,9'
set output 'research/results/distill/results.png'
set multiplot layout 2,3
set datafile missing 'NaN'
set key bottom right
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set grid
set title '3x64'
plot for [i=2:7] 'research/results/distill/curve_3x64.dat' using 1:i with linespoints title columnheader(i)
set title '4x96'
plot for [i=2:7] 'research/results/distill/curve_4x96.dat' using 1:i with linespoints title columnheader(i)
set title '12x128'
plot for [i=2:7] 'research/results/distill/curve_12x128.dat' using 1:i with linespoints title columnheader(i)
set title '9x192'
plot for [i=2:7] 'research/results/distill/curve_9x192.dat' using 1:i with linespoints title columnheader(i)
unset multiplot
