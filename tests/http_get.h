// A plain HTTP GET on loopback, for tests that read a server's /metrics.
#ifndef WAVE_TESTS_HTTP_GET_H_
#define WAVE_TESTS_HTTP_GET_H_

#include <string>

namespace wave::testing {

// GET http://127.0.0.1:port/path; the body, or "" on failure.
std::string HttpGet(int port, const std::string& path);
// The value of one series ("wave_fits{state=\"running\"}") on the
// /metrics of `metrics_port`, or -1 when it is not there.
double Metric(int metrics_port, const std::string& series);

}  // namespace wave::testing

#endif  // WAVE_TESTS_HTTP_GET_H_
