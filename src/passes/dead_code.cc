// dead-code: ops nobody reads, unused tensors, buffers and operator codes,
// identical constants shared (graph::compact, which works on the whole model).
#include "passes/pass.h"

namespace sealite::passes {
namespace {

class DeadCode : public Pass {
 public:
  std::string name() const override { return "dead-code"; }
  std::string description() const override {
    return "remove ops whose outputs nobody reads, unused tensors, buffers and operator codes; share identical "
           "constant buffers";
  }
  int priority() const override { return 1000; }
  bool run(graph::Graph& g) override {
    auto& m = g.model();
    // Unreferenced empty buffers are dropped too, but alone they are not worth a
    // rewrite (a few bytes; re-serialising can cost more than it saves).
    std::vector<char> referenced(m.buffers.size(), 0);
    for (auto& sg : m.subgraphs)
      for (auto& t : sg->tensors)
        if (t->buffer < m.buffers.size()) referenced[t->buffer] = 1;
    for (auto& md : m.metadata)
      if (md->buffer < m.buffers.size()) referenced[md->buffer] = 1;
    for (int b : m.metadata_buffer)
      if (b >= 0 && static_cast<size_t>(b) < m.buffers.size()) referenced[b] = 1;
    int empty_unreferenced = 0;
    for (size_t b = 1; b < m.buffers.size(); ++b)
      empty_unreferenced += !referenced[b] && (!m.buffers[b] || m.buffers[b]->data.empty());
    auto st = graph::compact(m);
    if (st.ops_removed + st.tensors_removed + st.buffers_deduplicated + st.opcodes_removed == 0 &&
        st.buffers_removed <= empty_unreferenced)
      return false;
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_dead_code() { return std::make_unique<DeadCode>(); }

}  // namespace sealite::passes
