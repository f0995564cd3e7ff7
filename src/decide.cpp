#include "decide.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "files.h"
#include "keys.h"
#include "resolve.h"
#include "scan.h"

namespace fc {
namespace {

bool imports_others(const FileFacts& facts) {
  for (const auto& i : facts.imports)
    if (i.module != "pytest" && i.module != "typing" && i.module != "__future__" && i.type_checking == 0) return true;
  return false;
}


// Reasons of decisions made on learned items (kept in the decision cache).
constexpr const char* kLearnedNone = "no learned item can match";
constexpr const char* kLearnedMay = "a learned item may match";

using Clock = std::chrono::steady_clock;

// Can the filter (-k and -m) select an item with these lowercased keywords
// and marker names (strings or views of them)?
template <class Strings>
bool item_may_match(const Strings& keywords, const Strings& marks, const Expression* keyword, const Expression* mark) {
  Tri r = Tri::True;
  if (keyword) {
    r = keyword->eval([&](const ExprNode& n) {
      for (const auto& k : keywords)
        if (std::string_view(k).find(n.lname) != std::string_view::npos) return Tri::True;
      return Tri::False;
    });
  }
  if (r != Tri::False && mark) {
    r = tri_and(r, mark->eval([&](const ExprNode& n) {
      if (std::find(marks.begin(), marks.end(), n.name) == marks.end()) return Tri::False;
      return n.has_kwargs ? Tri::Unknown : Tri::True;  // kwargs were not recorded
    }));
  }
  return r != Tri::False;
}

// True when no learned item can be selected by the filter.
bool learned_all_false(const LearnedFile& f, const Expression* keyword, const Expression* mark) {
  if (f.verdict != ItemVerdict::NotJudged) return f.verdict == ItemVerdict::NoneMatch;
  for (const auto& it : f.items)
    if (item_may_match(it.keywords, it.marks, keyword, mark)) return false;
  return true;
}

// The query: everything besides the module and its conftest chain that a
// decision depends on.
uint64_t query_fingerprint(const ScanConfig& cfg, const Generation* gen, uint64_t conftest_fp, uint64_t resolve_fp) {
  Fingerprint q;
  q.add(gen ? gen->id : uint64_t{0}).add(gen ? gen->version : uint64_t{0});
  q.add(std::string_view("fastcollect-query-10")).add(uint64_t{kFactsVersion}).add(cfg.rootdir).add(cfg.confcutdir).add(resolve_fp).add(uint64_t{cfg.type_checking_set});
  for (const auto* list : {&cfg.roots, &cfg.anchors}) {
    q.add(static_cast<uint64_t>(list->size()));
    for (const auto& x : *list) q.add(x);
  }
  for (const auto* list : {&cfg.python_classes, &cfg.python_functions, &cfg.stdlib, &cfg.global_autouse,
                           &cfg.global_maybe_marks, &cfg.param_marks, &cfg.repeated_param_marks, &cfg.id_suffixes}) {
    q.add(static_cast<uint64_t>(list->size()));
    for (const auto& x : *list) q.add(x);
  }
  for (const auto& [name, fi] : cfg.plugin_fixtures) {
    q.add(name).add(uint64_t{fi.has_params}).add(uint64_t{fi.param_marks_unknown});
    q.add(static_cast<uint64_t>(fi.deps.size()));
    for (const auto& d : fi.deps) q.add(d);
    q.add(uint64_t{fi.ids_known}).add(static_cast<uint64_t>(fi.ids.size()));
    for (const auto& id : fi.ids) q.add(id);
  }
  q.add(uint64_t{cfg.has_keyword}).add(cfg.keyword).add(uint64_t{cfg.has_markexpr}).add(cfg.markexpr);
  q.add(uint64_t{cfg.lazy_fixtures});
  q.add(static_cast<uint64_t>(cfg.patched_builtins.size()));
  for (const auto& b : cfg.patched_builtins) q.add(b);
  q.add(conftest_fp).add(cfg.static_unknown);
  q.add(static_cast<uint64_t>(cfg.read_hooks.size())).add(static_cast<uint64_t>(cfg.read_finish.size()));
  for (const auto& p : cfg.read_finish) q.add(p);
  for (const auto& [path, defs] : cfg.live_fixtures) {
    q.add(path).add(static_cast<uint64_t>(defs.size()));
    for (const auto& [name, fi] : defs) {
      q.add(name).add(uint64_t{fi.has_params}).add(uint64_t{fi.param_marks_unknown}).add(uint64_t{fi.ids_known});
      for (const auto& d : fi.deps) q.add(d);
      for (const auto& id : fi.ids) q.add(id);
    }
  }
  q.add(uint64_t{cfg.node_scoped_conftests}).add(static_cast<uint64_t>(cfg.session_conftests.size()));
  for (const auto& c : cfg.session_conftests) q.add(c);
  for (const auto* hooks : {&cfg.read_hooks, &cfg.live_conftests, &cfg.live_autouse, &cfg.generate_gates}) {
    q.add(static_cast<uint64_t>(hooks->size()));
    for (const auto& [path, names] : *hooks) {
      q.add(path).add(static_cast<uint64_t>(names.size()));
      for (const auto& m : names) q.add(m);
    }
  }
  return q.value();
}

// Parses -k and -m; returns an error, or "".
std::string parse_filter(const ScanConfig& cfg, Filter& filter) {
  std::string err;
  if (cfg.has_keyword) {
    filter.keyword = Expression::parse(cfg.keyword, &err);
    if (!filter.keyword) return "-k expression not handled (" + err + ")";
    if (filter.keyword->uses_kwargs()) return "-k expression uses call syntax";  // pytest raises at evaluation
  }
  if (cfg.has_markexpr) {
    filter.mark = Expression::parse(cfg.markexpr, &err);
    if (!filter.mark) return "-m expression not handled (" + err + ")";
  }
  return {};
}

}  // namespace

const char* step_name(Step s) {
  switch (s) {
    case Step::Cached: return "cached";
    case Step::Learned: return "learned";
    case Step::GlobalEffect: return "conftest-or-plugin effect";
    case Step::StaticModel: return "static model";
    case Step::CollectedTogether: return "collected together";
  }
  return "?";
}

Decider::Decider(const ScanConfig& cfg) : cfg_(cfg) {
  error_ = parse_filter(cfg, filter_);
  filtering_ = cfg.has_keyword || cfg.has_markexpr;
  mc_.rootdir = cfg.rootdir;
  mc_.confcutdir = cfg.confcutdir;
  mc_.node_scoped_conftests = cfg.node_scoped_conftests;
  for (const auto& c : cfg.session_conftests) mc_.session_conftest_dirs.insert(parent_dir(c));
  for (size_t i = 0; i < cfg.anchors.size() && i < cfg.roots.size(); ++i)
    mc_.anchors.emplace_back(cfg.roots[i], cfg.anchors[i]);
  mc_.python_classes = cfg.python_classes;
  mc_.python_functions = cfg.python_functions;
  mc_.stdlib.insert(cfg.stdlib.begin(), cfg.stdlib.end());
  mc_.param_marks = cfg.param_marks;
  mc_.repeated_param_marks = cfg.repeated_param_marks;
  mc_.id_suffixes = cfg.id_suffixes;
  mc_.lazy_fixtures = cfg.lazy_fixtures;
  mc_.patched_builtins.insert(cfg.patched_builtins.begin(), cfg.patched_builtins.end());
  mc_.type_checking_set = cfg.type_checking_set;
  mc_.live_conftests = cfg.live_conftests;
  mc_.live_fixtures = cfg.live_fixtures;
  mc_.live_autouse = cfg.live_autouse;
  mc_.generate_gates = cfg.generate_gates;
  base_.maybe_marks = cfg.global_maybe_marks;
  base_.env.defs = cfg.plugin_fixtures;
  base_.env.autouse.insert(cfg.global_autouse.begin(), cfg.global_autouse.end());
}

void Decider::set_conftests(std::vector<ConftestFile> conftests) {
  conftests_ = std::move(conftests);
  for (size_t i = 0; i < conftests_.size(); ++i) {
    conftest_at_[parent_dir(*conftests_[i].path)] = i;
    mc_.conftest_dirs.insert(parent_dir(*conftests_[i].path));
    bool collects = false;
    std::string why = conftest_outside_effect(*conftests_[i].facts, mc_, collects);
    std::vector<std::string> imports;
    if (why.empty()) fc::conftest_imports(*conftests_[i].facts, mc_, imports, why);
    if (!why.empty())
      conftest_effects_[*conftests_[i].path] = {std::move(why), collects};
    else
      conftest_imports_[*conftests_[i].path] = std::move(imports);
  }
  // Every conftest of the session: some hooks act on all items, wherever they sit.
  Fingerprint cf;
  cf.add(static_cast<uint64_t>(conftests_.size()));
  for (const auto& c : conftests_) cf.add(*c.path).add(c.hash_known ? c.hash : uint64_t{0}).add(uint64_t{c.hash_known});
  conftest_fp_ = cf.value();
  // A learned generation keys the conftests by path only: their content is
  // among its dependencies, compared by surface (a fixture body may change).
  Fingerprint set;
  set.add(static_cast<uint64_t>(conftests_.size()));
  for (const auto& c : conftests_) set.add(*c.path);
  conftest_set_fp_ = set.value();
  // A conftest anywhere in the session may act on every item (step 3).
  global_unknown_ = cfg_.static_unknown;
  for (size_t i = 0; i < conftests_.size() && filtering_ && global_unknown_.empty(); ++i) {
    const ConftestFile& c = conftests_[i];
    std::set<std::string> read_names;
    auto read = cfg_.read_hooks.find(*c.path);
    if (read != cfg_.read_hooks.end()) {
      read_names.insert("pytest_collection_modifyitems");
      base_.maybe_marks.insert(base_.maybe_marks.end(), read->second.begin(), read->second.end());
    }
    if (std::find(cfg_.read_finish.begin(), cfg_.read_finish.end(), *c.path) != cfg_.read_finish.end())
      read_names.insert("pytest_collection_finish");  // adds nothing -k/-m did not select
    global_unknown_ = conftest_global_effect(*c.facts, *c.path, mc_, read_names);
  }
}

void Decider::set_query(const Generation* generation, const Index::Reader* reader) {
  query_ = query_fingerprint(cfg_, generation, conftest_fp_, resolve_fp_);
  known_ = generation ? &generation->known : nullptr;
  if (!filtering_ || !reader) return;
  std::string_view raw;
  have_cache_ = reader->get_bytes(decision_key(query_), raw) && decode_decisions(raw, query_, cache_);
  // What earlier resolutions read: each probe read again once.
  probe_ok_.assign(cache_.probes.size(), 0);
  for (size_t i = 0; i < cache_.probes.size() && resolver_; ++i)
    probe_ok_[i] = resolver_->probes().holds(cache_.probes[i]);
  if (reader->get_bytes(recent_queries_key(), raw)) recent_ = decode_recent(raw);
}

// Does the conftest scope of `dir` take in its parent's: pytest loads the
// conftests of every ancestor up to the confcutdir (for modules outside the
// rootdir too, as with --pyargs of an installed package).
bool Decider::parent_in_scope(const std::string& dir) const {
  return dir != "/" && !dir.empty() && in_confcutdir(parent_dir(dir), cfg_.confcutdir);
}

// The fingerprint of the conftests (path and content) from the top of `dir`'s scope down to it.
uint64_t Decider::scope_fp_of(const std::string& dir) {
  auto it = chain_fp_.find(dir);
  if (it != chain_fp_.end()) return it->second;
  Fingerprint f;
  f.add(parent_in_scope(dir) ? scope_fp_of(parent_dir(dir)) : uint64_t{0});
  auto c = conftest_at_.find(dir);
  if (c != conftest_at_.end()) {
    const ConftestFile& cs = conftests_[c->second];
    f.add(*cs.path).add(cs.hash_known ? cs.hash : uint64_t{0}).add(uint64_t{cs.hash_known});
  }
  return chain_fp_.emplace(dir, f.value()).first->second;
}

// Conftests are folded per directory, from the top of the scope down, once
// per directory (shared by the threads).
const ConftestScope& Decider::scope_of(const std::string& dir) {
  auto it = scopes_.find(dir);
  if (it != scopes_.end()) return it->second;
  const bool up = parent_in_scope(dir);
  ConftestScope sc = up ? scope_of(parent_dir(dir)) : base_;
  Probes read = up ? scope_read_[parent_dir(dir)] : Probes{};
  auto c = conftest_at_.find(dir);
  if (c != conftest_at_.end()) {
    const std::string path = dir + "/conftest.py";
    Probes mine;
    if (resolver_) {
      ModuleResolver mr(*resolver_, path, mine);
      apply_conftest(*conftests_[c->second].facts, path, mc_, sc, &mr);
    } else {
      apply_conftest(*conftests_[c->second].facts, path, mc_, sc);
    }
    add_probes(read, mine);
  }
  scope_read_[dir] = std::move(read);
  return scopes_.emplace(dir, std::move(sc)).first->second;  // map nodes never move
}

void Decider::set_modules(const std::vector<std::string>* paths) {
  paths_ = paths;
  const size_t n = paths->size();
  if (filtering_) files_.resize(n);
  if (filtering_) read_.resize(n);
  if (filtering_) read_cached_.assign(n, nullptr);
  module_fp_.resize(n);
  hash_known_.assign(n, 0);
  grouped_.assign(n, 0);
  for (size_t k = 0; k < n; ++k) module_fp_[k] = scope_fp_of(parent_dir((*paths)[k]));
}

const CachedDecision* Decider::cache_entry(size_t k) const {
  if (!have_cache_) return nullptr;
  auto it = cache_.by_path.find((*paths_)[k]);
  if (it == cache_.by_path.end() || it->second.scope_fp != module_fp_[k]) return nullptr;
  for (uint32_t i : it->second.probes)
    if (!probe_ok_[i]) return nullptr;  // something its resolution read has changed
  return &it->second;
}

bool Decider::may_select(const ItemView& item) const {
  return item_may_match(item.keywords, item.marks, filter_.keyword.get(), filter_.mark.get());
}

bool Decider::cached(size_t k, uint64_t hash, bool hash_known) const {
  const CachedDecision* c = hash_known ? cache_entry(k) : nullptr;
  return c && c->content_hash == hash;
}

bool Decider::needs_facts(size_t k, const ModuleCase& m) const {
  return !cached(k, m.hash, m.hash_known) && !m.learned;
}

// The decision order (see decide.h).
void Decider::decide(size_t k, const ModuleCase& m) {
  const std::string& path = (*paths_)[k];
  FileDecision& out = files_[k];
  hash_known_[k] = m.hash_known;
  if (cached(k, m.hash, m.hash_known)) {  // 1.
    const CachedDecision& c = *cache_entry(k);
    ++cached_count_;
    out = FileDecision{path, c.skip, c.reason, c.content_hash, !c.skip && c.reason == kLearnedMay, Step::Cached};
    out.resolved = !c.probes.empty();
    read_cached_[k] = &c.probes;
    return;
  }
  const auto start = Clock::now();
  fresh_ = true;
  if (m.learned) {  // 2.
    ++learned_count_;
    const bool skip = learned_all_false(*m.learned, filter_.keyword.get(), filter_.mark.get());
    out = FileDecision{path, skip, skip ? kLearnedNone : kLearnedMay, m.hash, !skip, Step::Learned};
  } else if (!global_unknown_.empty()) {  // 3.
    // Imported for the effect; a change of process state it makes itself
    // still shows, as the learner never records such a module.
    std::string own = m.facts ? state_change(*m.facts, mc_, resolver_ != nullptr) : std::string();
    out = FileDecision{path, false, own.empty() ? global_unknown_ : std::move(own), m.hash, false, Step::GlobalEffect};
  } else {  // 4.
    const ConftestScope* sc;
    Probes& read = read_[k];
    {
      std::lock_guard<std::mutex> lock(scopes_mutex_);
      const std::string dir = parent_dir(path);
      sc = &scope_of(dir);
      read = scope_read_[dir];
    }
    Decision d;
    if (resolver_) {
      Probes mine;
      ModuleResolver mr(*resolver_, path, mine);
      d = fc::decide(*m.facts, path, *sc, mc_, filter_, &mr);
      add_probes(read, mine);
    } else {
      d = fc::decide(*m.facts, path, *sc, mc_, filter_);
    }
    out = FileDecision{path, d.skip, std::move(d.reason), m.hash, false, Step::StaticModel};
    out.resolved = !read.empty();
    out.imports = imports_others(*m.facts);
  }
  decide_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

// A module no session of the generation collected (new, or skipped until
// now), imported while it imports other modules, or skipped by resolving
// what it imports: what it reads is in no record ("" if there is none).
std::string Decider::newcomer() const {
  for (const auto& f : files_)
    if (((!f.skip && f.imports) || f.resolved) && f.step != Step::Learned &&
        !std::binary_search(known_->begin(), known_->end(), f.path))
      return f.path;
  return {};
}

void Decider::import_linked(size_t k, std::string why, std::vector<size_t>& todo) {
  FileDecision& f = files_[k];
  f.skip = false;
  f.reason = std::move(why);
  // Its record holds: made with what it depends on collected (links go
  // both ways where collecting one changes the other), not recorded again.
  f.learned_current = true;
  f.step = Step::CollectedTogether;
  todo.push_back(k);
}

// Imports, transitively, what each module in `todo` depends on and the
// modules that change what it read.
void Decider::follow_links(const std::vector<const LearnedFile*>& learned, const std::map<std::string, size_t>& at,
                           const std::map<std::string, std::vector<size_t>>& changers_of, std::vector<size_t>& todo) {
  while (!todo.empty()) {
    const size_t k = todo.back();
    todo.pop_back();
    if (learned[k])
      for (const auto& dep : learned[k]->deps) {
        auto it = at.find(dep.first);
        if (it == at.end() || !files_[it->second].skip) continue;
        import_linked(it->second, "linked when learned: imported test module " + files_[k].path + " depends on it",
                      todo);
      }
    auto c = changers_of.find(files_[k].path);
    if (c == changers_of.end()) continue;
    for (size_t j : c->second)
      if (files_[j].skip)
        import_linked(j, "changes what imported test module " + files_[k].path + " read when learned", todo);
  }
}

// A learned record lists the test modules its module must be collected
// with (links.py): one it imports names from, one whose collection changes
// an object it reads (SciPy: two modules parametrize with one
// itertools.product; whichever is collected first consumes it). An imported
// module pulls in what it depends on, transitively; a module nothing
// imported depends on stays skipped. The link lives in the reader's record,
// which an edit of the reader ends: a changer's record lists its readers
// too, and an imported reader, recorded or not, pulls its changers in.
void Decider::collect_together(const std::vector<const LearnedFile*>& learned) {
  const size_t n = files_.size();
  changer_.assign(n, 0);
  auto linked = [&](size_t k) { return learned[k] && !(learned[k]->deps.empty() && learned[k]->readers.empty()); };
  bool any_links = false;
  for (size_t k = 0; k < n && !any_links; ++k) any_links = linked(k);
  if (!any_links) return;  // the common case: no map of paths on the warm path
  std::map<std::string, size_t> at;
  for (size_t k = 0; k < n; ++k) at.emplace((*paths_)[k], k);
  std::map<std::string, std::vector<size_t>> changers_of;  // reader -> modules changing what it read
  std::vector<size_t> todo;
  for (size_t k = 0; k < n; ++k) {
    if (!files_[k].skip) todo.push_back(k);
    if (!linked(k)) continue;
    grouped_[k] = 1;  // depends on other modules' decisions: not cached
    changer_[k] = !learned[k]->readers.empty();
    for (const auto& r : learned[k]->readers) changers_of[r].push_back(k);
    for (const auto& dep : learned[k]->deps) {
      auto it = at.find(dep.first);
      if (it != at.end()) grouped_[it->second] = 1;
    }
  }
  follow_links(learned, at, changers_of, todo);
  const std::string first = known_ ? newcomer() : std::string();
  if (first.empty()) return;
  for (size_t k = 0; k < n; ++k)
    if (changer_[k] && files_[k].skip)
      import_linked(k, "changes what other test modules read when learned; " + first + " is new to the records",
                    todo);
  follow_links(learned, at, changers_of, todo);
}

// A module imported that changes process state or what other modules read
// (statically, or as learned) may run before any other: a skip that
// resolved imported names assumed the state as it is now.
void Decider::import_after_state_changers() {
  const FileDecision* changer = nullptr;
  for (size_t k = 0; k < files_.size(); ++k) {
    const FileDecision& f = files_[k];
    const bool calls = f.reason.rfind(kCallsAtImport, 0) == 0 || f.reason.rfind(kAssignsCallAtImport, 0) == 0;
    if (!f.skip && (f.reason.rfind(kProcessState, 0) == 0 || f.reason.rfind(kChangesMadeObject, 0) == 0 || calls ||
                    (k < changer_.size() && changer_[k])))
      changer = &f;
  }
  if (!changer) return;
  const std::string why = "resolved its imports; " + changer->path + " " + changer->reason;
  for (size_t k = 0; k < files_.size(); ++k) {
    FileDecision& f = files_[k];
    if (!f.skip || !f.resolved) continue;
    f.skip = false;
    f.reason = why;
    f.learned_current = false;
    f.step = Step::CollectedTogether;
    grouped_[k] = 1;  // depends on another module's decision: not cached
  }
}

void Decider::cache_writes(bool have_index, std::vector<std::pair<std::string, std::string>>& writes,
                           std::vector<std::string>& evict) const {
  if (!filtering_ || !have_index) return;
  if (fresh_ || cache_.by_path.size() != files_.size()) {
    DecisionSet next;
    next.query = query_;
    std::map<Probe, uint32_t> at;
    std::vector<int64_t> remap(cache_.probes.size(), -1);  // cached probe -> its index in `next`
    auto add = [&](const Probe& p) {
      auto [it, added] = at.emplace(p, static_cast<uint32_t>(next.probes.size()));
      if (added) next.probes.push_back(p);
      return it->second;
    };
    for (size_t k = 0; k < files_.size(); ++k) {
      if (!hash_known_[k]) continue;  // unreadable: decide again next time
      if (grouped_[k]) continue;      // depends on other modules' decisions: decide again next time
      const FileDecision& f = files_[k];
      CachedDecision c{f.hash, module_fp_[k], f.skip, f.reason, {}};
      for (const Probe& p : read_[k]) c.probes.push_back(add(p));
      if (read_cached_[k])
        for (uint32_t i : *read_cached_[k]) {
          if (remap[i] < 0) remap[i] = add(cache_.probes[i]);
          c.probes.push_back(static_cast<uint32_t>(remap[i]));
        }
      next.by_path[f.path] = std::move(c);
    }
    writes.emplace_back(decision_key(query_), encode_decisions(next));
  }
  if (recent_.empty() || recent_.front() != query_) {
    std::vector<uint64_t> recent = recent_;
    recent.erase(std::remove(recent.begin(), recent.end(), query_), recent.end());
    recent.insert(recent.begin(), query_);
    while (recent.size() > kKeptQueries) {
      evict.push_back(decision_key(recent.back()));
      recent.pop_back();
    }
    writes.emplace_back(recent_queries_key(), encode_recent(recent));
  }
}

}  // namespace fc
