// Stratified sampling by index, shared by the client (which has no LibTorch)
// and core's data sets: groups by label, then takes round-robin over them.
#ifndef WAVE_CORE_BASE_STRATIFY_H_
#define WAVE_CORE_BASE_STRATIFY_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace wave {

// Sample indices grouped by label, groups in ascending label order, each
// group in the order `order` visits its samples.
std::vector<std::vector<int64_t>> GroupByLabel(const std::vector<int64_t>& order,
                                               const std::function<int64_t(int64_t)>& label_of);

// Up to `count` indices, one from each group in turn; the taken ones leave
// their groups, so a second call continues where the first stopped.
std::vector<int64_t> TakeRoundRobin(std::vector<std::vector<int64_t>>& groups, int64_t count);

}  // namespace wave

#endif  // WAVE_CORE_BASE_STRATIFY_H_
