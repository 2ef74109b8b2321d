#define CAF_SUITE net.arrivals

#include "net/stream/arrivals.hpp"

#include <caf/test/unit_test.hpp>

#include <memory>
#include <vector>

using namespace herald;
using namespace herald::net;

namespace {

std::vector<delivery> deliveries(std::initializer_list<int64_t> seqs) {
  auto content = std::make_shared<web_content>();
  std::vector<delivery> out;
  for (auto seq : seqs)
    out.push_back({seq, false, content});
  return out;
}

std::vector<int64_t> seqs_of(const std::vector<delivery>& batch) {
  std::vector<int64_t> out;
  for (const auto& d : batch)
    out.push_back(d.seq);
  return out;
}

} // namespace

CAF_TEST(the first add asks for a post and what follows joins it) {
  arrivals a;
  CAF_CHECK(a.add(deliveries({1, 2})));
  CAF_CHECK(!a.add(deliveries({3})));
  CAF_CHECK_EQUAL(seqs_of(a.take()), (std::vector<int64_t>{1, 2, 3}));
  CAF_CHECK(a.add(deliveries({4})));
  CAF_CHECK_EQUAL(seqs_of(a.take()), (std::vector<int64_t>{4}));
  CAF_CHECK(a.take().empty());
}
