#include "core/base/stratify.h"

#include <map>

namespace wave {

std::vector<std::vector<int64_t>> GroupByLabel(const std::vector<int64_t>& order,
                                               const std::function<int64_t(int64_t)>& label_of) {
  std::map<int64_t, std::vector<int64_t>> by_label;
  for (int64_t i : order) by_label[label_of(i)].push_back(i);
  std::vector<std::vector<int64_t>> groups;
  groups.reserve(by_label.size());
  for (auto& [label, indices] : by_label) groups.push_back(std::move(indices));
  return groups;
}

std::vector<int64_t> TakeRoundRobin(std::vector<std::vector<int64_t>>& groups, int64_t count) {
  std::vector<int64_t> taken;
  std::vector<size_t> next(groups.size(), 0);
  bool any = true;
  while (static_cast<int64_t>(taken.size()) < count && any) {
    any = false;
    for (size_t g = 0; g < groups.size() && static_cast<int64_t>(taken.size()) < count; ++g) {
      if (next[g] < groups[g].size()) {
        taken.push_back(groups[g][next[g]++]);
        any = true;
      }
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    groups[g].erase(groups[g].begin(), groups[g].begin() + next[g]);
  }
  return taken;
}

}  // namespace wave
