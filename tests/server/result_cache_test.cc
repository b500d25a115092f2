// ResultCache on its own: the memory bound, the directory (a restart keeps
// entries; a damaged one is discarded, never served) and single flight.
#include "server/result_cache.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/status_matchers.h"

namespace wave {
namespace {

std::shared_ptr<CachedFit> Entry(const std::string& key, int64_t floats) {
  auto fit = std::make_shared<CachedFit>();
  fit->key = key;
  fit->bank_sha256 = "bank";
  fit->header.mutable_target()->set_depth(2);
  fit->scalers["blocks.0.attn.qkv.weight"] = at::arange(floats, at::kFloat);
  fit->head["head.bias"] = at::ones({3});
  fit->summary.set_held_out_accuracy(42.5);
  return fit;
}

std::string KeyOf(char c) { return std::string(64, c); }

class ResultCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/result_cache." + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Inserts through the lead, as the server does.
  // A cache on the test's directory, as a (re)started server opens it, with
  // `keys` put in first.
  std::unique_ptr<ResultCache> OnDir(const std::string& keys = "",
                                     int64_t max_dir_bytes = 4ll << 30) {
    CacheOptions options;
    options.dir = dir_;
    options.max_dir_bytes = max_dir_bytes;
    auto cache = ResultCache::Create(options);
    EXPECT_OK(cache);
    for (char key : keys) Put(**cache, Entry(KeyOf(key), 100));
    return *std::move(cache);
  }
  int FilesInDir() const {
    int files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
    return files;
  }
  static void Put(ResultCache& cache, std::shared_ptr<CachedFit> fit) {
    auto lookup = cache.FindOrLead(fit->key, nullptr);
    ASSERT_OK(lookup);
    ASSERT_TRUE(lookup->lead);
    lookup->lead->Complete(std::move(fit));
  }
  std::string dir_;
};

TEST_F(ResultCacheTest, TheKeyChangesWithEveryInput) {
  v1::InitializeHeader h;
  h.mutable_fit()->set_seed(1);
  const std::string key = ResultCache::Key("ctx", "bank", h, "data");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(ResultCache::Key("ctx", "bank", h, "data"), key);
  EXPECT_NE(ResultCache::Key("ctx2", "bank", h, "data"), key);
  EXPECT_NE(ResultCache::Key("ctx", "bank2", h, "data"), key);
  EXPECT_NE(ResultCache::Key("ctx", "bank", h, "data2"), key);
  // Length-prefixed parts: moving a character between two parts is another key.
  EXPECT_NE(ResultCache::Key("ctxb", "ank", h, "data"), key);
  h.mutable_fit()->set_seed(2);
  EXPECT_NE(ResultCache::Key("ctx", "bank", h, "data"), key);
}

TEST_F(ResultCacheTest, MemoryIsBoundedLeastRecentlyUsedFirst) {
  const int64_t one = Entry(KeyOf('a'), 1000)->Bytes();
  CacheOptions options;
  options.max_bytes = 2 * one + one / 2;  // room for two
  auto cache = ResultCache::Create(options);
  ASSERT_OK(cache);
  Put(**cache, Entry(KeyOf('a'), 1000));
  Put(**cache, Entry(KeyOf('b'), 1000));
  ASSERT_NE((*cache)->Find(KeyOf('a')), nullptr);  // 'a' is now the most recent
  Put(**cache, Entry(KeyOf('c'), 1000));           // so 'b' goes
  EXPECT_NE((*cache)->Find(KeyOf('a')), nullptr);
  EXPECT_EQ((*cache)->Find(KeyOf('b')), nullptr);
  EXPECT_NE((*cache)->Find(KeyOf('c')), nullptr);
  EXPECT_LE((*cache)->bytes(), options.max_bytes);
  // An entry larger than the whole cache is not kept, and evicts nothing.
  Put(**cache, Entry(KeyOf('d'), 1000000));
  EXPECT_EQ((*cache)->Find(KeyOf('d')), nullptr);
  EXPECT_NE((*cache)->Find(KeyOf('a')), nullptr);
  EXPECT_LE((*cache)->bytes(), options.max_bytes);
}

TEST_F(ResultCacheTest, ZeroBytesKeepsNothingButStillLeads) {
  CacheOptions options;
  options.max_bytes = 0;
  auto cache = ResultCache::Create(options);
  ASSERT_OK(cache);
  EXPECT_FALSE((*cache)->enabled());
  Put(**cache, Entry(KeyOf('a'), 10));
  EXPECT_EQ((*cache)->Find(KeyOf('a')), nullptr);
}

TEST_F(ResultCacheTest, ADirectoryKeepsEntriesAcrossARestart) {
  OnDir("a");
  auto found = OnDir()->Find(KeyOf('a'));
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(found->scalers.at("blocks.0.attn.qkv.weight").equal(at::arange(100, at::kFloat)));
  EXPECT_TRUE(found->head.at("head.bias").equal(at::ones({3})));
  EXPECT_EQ(found->summary.held_out_accuracy(), 42.5);
  EXPECT_EQ(found->header.target().depth(), 2);
  EXPECT_EQ(found->bank_sha256, "bank");
}

TEST_F(ResultCacheTest, ReplicasSharingADirectorySeeEachOthersEntries) {
  auto a = OnDir();
  auto b = OnDir();  // indexed before `a` wrote anything
  Put(*a, Entry(KeyOf('a'), 100));
  auto found = b->Find(KeyOf('a'));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->summary.held_out_accuracy(), 42.5);
  EXPECT_EQ(FilesInDir(), 1);  // no temporary left beside the entry
}

TEST_F(ResultCacheTest, ADamagedFileIsDiscardedNotServed) {
  OnDir("ab");
  const std::string a = dir_ + "/" + KeyOf('a') + ".wcache";
  const std::string b = dir_ + "/" + KeyOf('b') + ".wcache";
  {  // one float of the scalers changed: still a valid safetensors file
    std::fstream f(a, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-20, std::ios::end);
    f.write("\x7f", 1);
  }
  std::filesystem::resize_file(b, 100);  // cut short
  auto cache = OnDir();
  EXPECT_EQ(cache->Find(KeyOf('a')), nullptr);
  EXPECT_EQ(cache->Find(KeyOf('b')), nullptr);
  EXPECT_FALSE(std::filesystem::exists(a));
  EXPECT_FALSE(std::filesystem::exists(b));
}

TEST_F(ResultCacheTest, TheDirectoryIsBoundedToo) {
  OnDir("ab", /*max_dir_bytes=*/1);  // every write evicts what came before
  EXPECT_LE(FilesInDir(), 1);
}

TEST_F(ResultCacheTest, IdenticalRequestsAtOnceFitOnce) {
  auto cache = ResultCache::Create(CacheOptions{});
  ASSERT_OK(cache);
  auto first = (*cache)->FindOrLead(KeyOf('a'), nullptr);
  ASSERT_OK(first);
  ASSERT_TRUE(first->lead);
  std::atomic<bool> hit{false};
  std::thread second([&] {
    auto lookup = (*cache)->FindOrLead(KeyOf('a'), nullptr);
    hit = lookup.ok() && lookup->hit != nullptr && !lookup->lead;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the second waits
  EXPECT_FALSE(hit);
  first->lead->Complete(Entry(KeyOf('a'), 10));
  second.join();
  EXPECT_TRUE(hit);
}

TEST_F(ResultCacheTest, AFailedLeadPassesTheLeadOnAndAWaiterCanGiveUp) {
  auto cache = ResultCache::Create(CacheOptions{});
  ASSERT_OK(cache);
  auto first = (*cache)->FindOrLead(KeyOf('a'), nullptr);
  ASSERT_OK(first);
  // A waiter whose call ends stops waiting with its own error.
  auto gave_up =
      (*cache)->FindOrLead(KeyOf('a'), [] { return absl::CancelledError("call cancelled"); });
  EXPECT_STATUS(gave_up.status(), absl::StatusCode::kCancelled, "call cancelled");
  std::atomic<bool> leads{false};
  std::thread second([&] {
    auto lookup = (*cache)->FindOrLead(KeyOf('a'), nullptr);
    leads = lookup.ok() && lookup->lead != nullptr;
  });
  first->lead.reset();  // the fit failed: no entry
  second.join();
  EXPECT_TRUE(leads);
}

}  // namespace
}  // namespace wave
