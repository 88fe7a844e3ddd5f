// The gzip-compressed firmware images of testdata/measure, decompressed in the test (at most 8
// MiB).
#ifndef TRIAD_TESTS_MEASURE_GUNZIP_H_
#define TRIAD_TESTS_MEASURE_GUNZIP_H_

#include <string>

namespace triad::measure::testing_util {

std::string Gunzip(const std::string& gz);

}  // namespace triad::measure::testing_util

#endif  // TRIAD_TESTS_MEASURE_GUNZIP_H_
