// Python bindings: one batch call per run, the GIL released while it works.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include "expr.h"
#include "extract.h"
#include "learned.h"
#include "scan.h"
#include "audit_hook.h"
#include "trace_hook.h"
#include "content.h"
#include "dict_versions.h"
#include "doc_reads.h"
#include "module_reads.h"

namespace py = pybind11;

namespace {

const TSLanguage* language_from(py::handle capsule) {
  if (!PyCapsule_CheckExact(capsule.ptr())) throw py::type_error("expected a tree_sitter.Language capsule");
  void* p = PyCapsule_GetPointer(capsule.ptr(), "tree_sitter.Language");
  if (!p) throw py::error_already_set();
  return static_cast<const TSLanguage*>(p);
}

template <class T>
T get(const py::dict& d, const char* key, T fallback) {
  return d.contains(key) ? d[key].cast<T>() : fallback;
}

// Fixture rows (name, has_params, param_marks_unknown, deps[, ids or None]),
// by name; ids hold while every definition of the name gives the same ones.
std::map<std::string, fc::FixtureInfo> fixture_rows(const py::list& rows) {
  std::map<std::string, fc::FixtureInfo> out;
  std::set<std::string> seen;
  for (auto item : rows) {
    auto t = item.cast<py::tuple>();
    const std::string name = t[0].cast<std::string>();
    fc::FixtureInfo& fi = out[name];
    fi.has_params = fi.has_params || t[1].cast<bool>();
    fi.param_marks_unknown = fi.param_marks_unknown || t[2].cast<bool>();
    for (auto d : t[3].cast<std::vector<std::string>>()) fi.deps.push_back(d);
    const bool has_ids = t.size() > 4 && !t[4].is_none();
    std::vector<std::string> ids;
    if (has_ids) ids = t[4].cast<std::vector<std::string>>();
    if (seen.insert(name).second) {
      fi.ids_known = has_ids;
      fi.ids = std::move(ids);
    } else if (!has_ids || !fi.ids_known || ids != fi.ids) {
      fi.ids_known = false;
      fi.ids.clear();
    }
  }
  return out;
}

py::dict stats_dict(const fc::ScanStats& s) {
  py::dict d;
  d["files"] = s.files;
  d["conftests"] = s.conftests;
  d["parsed"] = s.parsed;
  d["from_index"] = s.from_index;
  d["rehashed"] = s.rehashed;
  d["cached_decisions"] = s.cached_decisions;
  d["learned"] = s.learned;
  d["written"] = s.written;
  d["bytes_parsed"] = s.bytes_parsed;
  d["walk_ms"] = s.walk_ms;
  d["files_ms"] = s.files_ms;
  d["write_ms"] = s.write_ms;
  d["decide_ms"] = s.decide_ms;
  d["total_ms"] = s.total_ms;
  d["stat_ms"] = s.stat_ms;
  d["lookup_ms"] = s.lookup_ms;
  d["read_ms"] = s.read_ms;
  d["hash_ms"] = s.hash_ms;
  d["parse_ms"] = s.parse_ms;
  return d;
}

// What the learning run's collection could have read (bindings.h), from the
// payload: "observed" (names exec'd text read, modules loaded before tracing,
// {file: names read from its namespace}), None when unknown.
void observed_from(const py::dict& c, fc::Observed& out) {
  if (!c.contains("observed") || c["observed"].is_none()) return;
  auto t = c["observed"].cast<py::tuple>();
  for (auto n : t[0].cast<py::list>()) out.names.push_back(fc::name_hash(n.cast<std::string>()));
  for (auto item : t[2].cast<py::dict>()) {
    const std::string path = item.first.cast<std::string>();
    for (auto n : item.second.cast<py::list>())
      out.names.push_back(fc::own_name_hash(path, fc::name_hash(n.cast<std::string>())));
  }
  for (auto n : t[1].cast<py::list>()) out.preloaded.push_back(fc::name_hash(n.cast<std::string>()));
  std::sort(out.names.begin(), out.names.end());
  out.names.erase(std::unique(out.names.begin(), out.names.end()), out.names.end());
  std::sort(out.preloaded.begin(), out.preloaded.end());
  out.preloaded.erase(std::unique(out.preloaded.begin(), out.preloaded.end()), out.preloaded.end());
  out.known = true;
}

// See `noting` below: the module a dir/vars/globals/locals call enumerates.
// Items' records, converted once per shared list: many items of a module
// share their names but one, and their marker names (learn.py: ItemRecord).
class ItemRecords {
 public:
  // (names, marks) or (shared names, own name or names, marks).
  fc::LearnedItem item(py::handle record) {
    auto t = record.cast<py::tuple>();
    fc::LearnedItem out;
    out.marks = list(t[t.size() - 1]);
    if (t.size() == 2) {
      out.keywords = t[0].cast<std::vector<std::string>>();
      return out;
    }
    out.keywords = list(t[0]);
    // Each own name in place (sorted as Python sorts str: by code point,
    // which is UTF-8 byte order), once.
    auto add = [&out](std::string name) {
      auto at = std::lower_bound(out.keywords.begin(), out.keywords.end(), name);
      if (at == out.keywords.end() || *at != name) out.keywords.insert(at, std::move(name));
    };
    if (PyUnicode_Check(t[1].ptr())) {
      add(t[1].cast<std::string>());
    } else {
      for (auto name : t[1]) add(name.cast<std::string>());
    }
    return out;
  }

 private:
  const std::vector<std::string>& list(py::handle l) {
    auto found = converted_.find(l.ptr());
    if (found != converted_.end()) return found->second;
    return converted_.emplace(l.ptr(), l.cast<std::vector<std::string>>()).first->second;
  }
  // By the list object's address: the payload holds every list while the call runs.
  std::unordered_map<const PyObject*, std::vector<std::string>> converted_;
};

void note_namespace(const py::args& args, bool caller, py::list notes) {
  // With an argument, dir(m) and vars(m) read m.__dict__, which the module
  // hook records (module_reads.c); only the caller's own namespace is left.
  if (args.size() != 0) return;
  PyObject* globals = PyEval_GetGlobals();  // borrowed; the caller's
  PyFrameObject* frame = PyEval_GetFrame();
  PyObject* from = globals ? PyDict_GetItemString(globals, "__name__") : nullptr;  // borrowed
  if (!frame || !from || !PyUnicode_Check(from)) return;
  // This plugin's own reads shape no item.
  const char* name = PyUnicode_AsUTF8(from);
  if (!name) return PyErr_Clear();
  if (std::strncmp(name, "pytest_fastcollect", 18) == 0 && (name[18] == '\0' || name[18] == '.')) return;
  if (!caller) {
    PyCodeObject* code = PyFrame_GetCode(frame);  // new reference
    const long flags = py::handle(reinterpret_cast<PyObject*>(code)).attr("co_flags").cast<long>();
    Py_DECREF(code);
    if (flags & CO_NEWLOCALS) return;  // a function's own locals
  }
  notes.append(py::reinterpret_borrow<py::object>(from));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "pytest-fastcollect native core";

  m.def("language_abi", [](py::handle capsule) {
    const TSLanguage* lang = language_from(capsule);
    return py::make_tuple(static_cast<int>(ts_language_version(lang)), fc::min_language_version(),
                          fc::max_language_version());
  });

  m.def("scan", [](py::handle capsule, const py::dict& c) {
    const TSLanguage* lang = language_from(capsule);
    fc::ScanConfig cfg;
    cfg.rootdir = c["rootdir"].cast<std::string>();
    cfg.confcutdir = get<std::string>(c, "confcutdir", "");
    cfg.noconftest = get<bool>(c, "noconftest", false);
    cfg.roots = c["roots"].cast<std::vector<std::string>>();
    cfg.anchors = get<std::vector<std::string>>(c, "anchors", {});
    if (!cfg.anchors.empty() && cfg.anchors.size() != cfg.roots.size()) throw std::invalid_argument("anchors: one per root");
    cfg.python_files = c["python_files"].cast<std::vector<std::string>>();
    cfg.python_classes = c["python_classes"].cast<std::vector<std::string>>();
    cfg.python_functions = c["python_functions"].cast<std::vector<std::string>>();
    cfg.norecursedirs = c["norecursedirs"].cast<std::vector<std::string>>();
    cfg.other_files = get<std::vector<std::string>>(c, "other_files", {});
    cfg.stdlib = get<std::vector<std::string>>(c, "stdlib", {});
    cfg.stdlib_loaded = get<std::vector<std::string>>(c, "stdlib_loaded", {});
    cfg.index_dir = get<std::string>(c, "index_dir", "");
    if (c.contains("keyword") && !c["keyword"].is_none()) {
      cfg.keyword = c["keyword"].cast<std::string>();
      cfg.has_keyword = true;
    }
    if (c.contains("markexpr") && !c["markexpr"].is_none()) {
      cfg.markexpr = c["markexpr"].cast<std::string>();
      cfg.has_markexpr = true;
    }
    if (c.contains("plugin_fixtures")) cfg.plugin_fixtures = fixture_rows(c["plugin_fixtures"].cast<py::list>());
    if (c.contains("live_fixtures"))
      for (auto [path, rows] : c["live_fixtures"].cast<py::dict>())
        cfg.live_fixtures[path.cast<std::string>()] = fixture_rows(rows.cast<py::list>());
    cfg.live_autouse = get<std::map<std::string, std::vector<std::string>>>(c, "live_autouse", {});
    cfg.session_conftests = get<std::vector<std::string>>(c, "session_conftests", {});
    cfg.node_scoped_conftests = get<bool>(c, "node_scoped_conftests", false);
    cfg.global_autouse = get<std::vector<std::string>>(c, "global_autouse", {});
    cfg.global_maybe_marks = get<std::vector<std::string>>(c, "global_maybe_marks", {});
    cfg.param_marks = get<std::vector<std::string>>(c, "param_marks", {});
    cfg.repeated_param_marks = get<std::vector<std::string>>(c, "repeated_param_marks", {});
    cfg.id_suffixes = get<std::vector<std::string>>(c, "id_suffixes", {});
    cfg.lazy_fixtures = get<bool>(c, "lazy_fixtures", false);
    cfg.patched_builtins = get<std::vector<std::string>>(c, "patched_builtins", {});
    cfg.threads = get<unsigned>(c, "threads", 0);
    cfg.session_key = get<uint64_t>(c, "session_key", 0);
    cfg.inputs = get<fc::InputSnapshot>(c, "inputs", {});
    cfg.read_hooks = get<std::map<std::string, std::vector<std::string>>>(c, "read_hooks", {});
    cfg.read_finish = get<std::vector<std::string>>(c, "read_finish", {});
    cfg.live_conftests = get<std::map<std::string, std::vector<std::string>>>(c, "live_conftests", {});
    cfg.generate_gates = get<std::map<std::string, std::vector<std::string>>>(c, "generate_gates", {});
    cfg.static_unknown = get<std::string>(c, "static_unknown", "");
    cfg.type_checking_set = get<bool>(c, "type_checking_set", false);
    cfg.max_parse_bytes = get<uint64_t>(c, "max_parse_bytes", cfg.max_parse_bytes);
    py::object live;     // the live-answer callables, kept for the scan's duration
    py::object live_id;
    py::object module_has;
    if (c.contains("module_has") && !c["module_has"].is_none()) {
      // As `live`: called from the scan, the GIL released; each call takes it.
      module_has = c["module_has"];
      const py::object* fn = &module_has;
      cfg.module_has = [fn](const std::string& module, const std::string& attr) {
        py::gil_scoped_acquire gil;
        try {
          return (*fn)(module, attr).cast<bool>();
        } catch (const py::error_already_set&) {
          return false;
        } catch (const py::cast_error&) {
          return false;
        }
      };
    }
    if (c.contains("resolve") && !c["resolve"].is_none()) {
      // {"search": [(entry, is_dir)], "loaded": {name: (file, package, [path])}, "unknown": str}
      auto rs = c["resolve"].cast<py::dict>();
      cfg.resolve = true;
      cfg.resolve_search = get<std::vector<std::pair<std::string, bool>>>(rs, "search", {});
      cfg.resolve_unknown = get<std::string>(rs, "unknown", "");
      if (rs.contains("live") && !rs["live"].is_none()) {
        // Called from the scan's threads, the GIL released: each call takes it.
        // `live` outlives the scan (this frame owns it); the callback only
        // borrows it, so no copy drops a reference without the GIL.
        live = rs["live"];
        const py::object* fn = &live;
        cfg.resolve_live = [fn](const std::string& file, const std::string& name, std::vector<std::string>& deps) {
          py::gil_scoped_acquire gil;
          try {
            py::object r = (*fn)(file, name);
            if (r.is_none()) return false;
            deps = r.cast<std::vector<std::string>>();
            return true;
          } catch (const py::error_already_set&) {
            return false;
          } catch (const py::cast_error&) {
            return false;
          }
        };
      }
      if (rs.contains("live_id") && !rs["live_id"].is_none()) {
        // As `live`: ("id", text, deps), ("fallback", "", deps) or None.
        live_id = rs["live_id"];
        const py::object* fn = &live_id;
        cfg.resolve_live_id = [fn](const std::string& file, const std::vector<std::string>& attrs,
                                   std::vector<std::string>& deps) {
          fc::ValueId v;
          py::gil_scoped_acquire gil;
          try {
            py::object r = (*fn)(file, attrs);
            if (r.is_none()) return v;
            auto t = r.cast<py::tuple>();
            if (t.size() != 3) return v;
            const std::string kind = t[0].cast<std::string>();
            deps = t[2].cast<std::vector<std::string>>();
            if (kind == "id") {
              v.kind = fc::ValueId::Id;
              v.id = t[1].cast<std::string>();
            } else if (kind == "fallback") {
              v.kind = fc::ValueId::Fallback;
            }
          } catch (const py::error_already_set&) {
            v = fc::ValueId{};
          } catch (const py::cast_error&) {
            v = fc::ValueId{};
          }
          return v;
        };
      }
      if (rs.contains("loaded")) {
        for (auto item : rs["loaded"].cast<py::dict>()) {
          auto t = item.second.cast<py::tuple>();
          fc::LoadedModule lm;
          lm.file = t[0].cast<std::string>();
          lm.package = t[1].cast<bool>();
          lm.path = t[2].cast<std::vector<std::string>>();
          cfg.resolve_loaded.emplace(item.first.cast<std::string>(), std::move(lm));
        }
      }
    }
    fc::ScanResult r;
    {
      py::gil_scoped_release release;
      r = fc::scan(lang, cfg);
    }
    py::dict out;
    out["error"] = r.error;
    out["warnings"] = r.warnings;
    py::list skip, imported, learned_current, resolved;
    py::dict hashes, steps;
    for (const auto& f : r.files) {
      steps[py::str(f.path)] = py::make_tuple(fc::step_name(f.step), f.reason);
      if (f.skip) {
        skip.append(f.path);
        if (f.resolved) resolved.append(f.path);
      } else {
        imported.append(py::make_tuple(f.path, f.reason));
        if (f.hash) hashes[py::str(f.path)] = f.hash;
        if (f.learned_current) learned_current.append(f.path);
      }
    }
    out["learned_current"] = learned_current;
    out["steps"] = steps;  // path -> (deciding step, reason), for --fast-collect-explain
    out["hashes"] = hashes;
    out["conftests"] = r.conftests;
    py::dict effects;
    for (const auto& [path, effect] : r.conftest_effects)
      effects[py::str(path)] = py::make_tuple(effect.first, effect.second);
    out["conftest_effects"] = effects;
    out["conftest_imports"] = r.conftest_imports;
    out["others"] = r.others;
    out["conftest_fp"] = r.conftest_fp;
    out["input_names"] = r.input_names;
    out["surface_kept"] = r.surface_kept;
    out["learned_status"] = r.learned_status;
    out["skip"] = skip;
    out["resolved"] = resolved;
    out["basedirs"] = r.basedirs;  // skipped by a decision that resolved imported names
    out["imported"] = imported;
    out["stats"] = stats_dict(r.stats);
    return out;
  });

  // Records the items pytest built for the modules it imported (see learned.h).
  m.def("learn", [](py::handle capsule, const std::string& index_dir, const py::dict& c) {
    fc::LearnInput in;
    in.lang = capsule.is_none() ? nullptr : language_from(capsule);
    in.session_key = c["session_key"].cast<uint64_t>();
    in.conftest_fp = c["conftest_fp"].cast<uint64_t>();
    in.input_names = c["input_names"].cast<std::vector<std::string>>();
    in.inputs = c["inputs"].cast<fc::InputSnapshot>();
    for (auto d : c["deps"].cast<py::list>()) {
      auto t = d.cast<py::tuple>();  // (path, traced, [(co_name, co_firstlineno), ...][, opaque])
      in.deps.push_back({t[0].cast<std::string>(), t[1].cast<bool>(),
                         t[2].cast<std::vector<std::pair<std::string, uint32_t>>>(),
                         t.size() > 3 && t[3].cast<bool>()});
    }
    observed_from(c, in.observed);
    if (c.contains("listings")) in.listings = c["listings"].cast<std::vector<std::string>>();
    ItemRecords records;
    for (auto f : c["files"].cast<py::list>()) {
      // (path, content hash seen by the scan, deps, [item record, ...][, readers]); learn.py: ItemRecord
      auto t = f.cast<py::tuple>();
      fc::LearnInput::File file;
      file.path = t[0].cast<std::string>();
      file.content_hash = t[1].cast<uint64_t>();
      file.deps = t[2].cast<std::vector<std::string>>();
      if (t.size() > 4) file.readers = t[4].cast<std::vector<std::string>>();
      for (auto item : t[3].cast<py::list>()) file.items.push_back(records.item(item));
      in.files.push_back(std::move(file));
    }
    if (c.contains("collected")) in.collected = c["collected"].cast<std::vector<std::string>>();
    std::sort(in.collected.begin(), in.collected.end());
    uint64_t written = 0;
    std::string err;
    {
      py::gil_scoped_release release;
      err = fc::learn(index_dir, in, written);
    }
    return py::make_tuple(err, written);
  });

  // Names read from module namespaces while collecting (see module_reads.c).
  m.def("module_reads_start", [](py::tuple ignore) { return fc_module_reads_start(ignore.ptr()) != 0; });
  m.def("module_reads_stop", [] { return py::reinterpret_steal<py::object>(fc_module_reads_stop()); });
  // Functions whose docstring collection reads (see doc_reads.c).
  m.def("doc_reads_start", [](py::tuple ignore) { return fc_doc_reads_start(ignore.ptr()) != 0; });
  m.def("doc_reads_stop", [] { return py::reinterpret_steal<py::object>(fc_doc_reads_stop()); });
  m.def("own_reads", [](py::list codes, py::bytes table) {
    PyObject* out = fc_own_reads(codes.ptr(), table.ptr());
    if (out == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(out);
  });

  // A container's content as the links watch compares it (see content.c).
  m.def("content", [](py::handle value, int depth, Py_ssize_t budget) {
    PyObject* out = fc_content(value.ptr(), depth, budget);
    if (out == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(out);
  });

  // Version tags of namespaces: which were written since (see dict_versions.c).
  m.def("dict_versions", [](py::list objects) {
    PyObject* out = fc_dict_versions(objects.ptr());
    if (out == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(out);
  });

  // The positions at which two equally long runs of uint64 tags differ (the
  // watch compares thousands of tags at every window's close).
  m.def("changed_words", [](py::bytes now, py::bytes then) {
    const char* a = PyBytes_AS_STRING(now.ptr());
    const char* b = PyBytes_AS_STRING(then.ptr());
    const auto size = static_cast<size_t>(PyBytes_GET_SIZE(now.ptr()));
    if (size != static_cast<size_t>(PyBytes_GET_SIZE(then.ptr())) || size % sizeof(uint64_t) != 0)
      throw py::value_error("changed_words: sizes differ");
    py::list out;
    for (size_t i = 0; i < size / sizeof(uint64_t); ++i) {
      if (std::memcmp(a + i * sizeof(uint64_t), b + i * sizeof(uint64_t), sizeof(uint64_t)) != 0) out.append(i);
    }
    return out;
  });

  // Audit events the learner records, filtered in C (see audit_hook.c).
  m.def("audit_install", [](py::function callback) { return fc_audit_install(callback.ptr()) != 0; });

  // A builtin (dir, vars, globals, locals) that notes the name of the module
  // whose namespace it reads, then runs the original. Called from C++, which
  // pushes no frame, the original sees its caller's frame as it would have.
  // `caller`: with no argument it always reads the caller's globals
  // (globals()); else only at module or class level (dir(), vars(), locals()).
  m.def("noting", [](py::object original, py::list notes, bool caller) {
    const std::string name = py::str(original.attr("__name__"));  // pybind11 copies it
    return py::cpp_function(
        [original, notes, caller](py::args args, py::kwargs kwargs) -> py::object {
          note_namespace(args, caller, notes);
          return original(*args, **kwargs);
        },
        py::name(name.c_str()));
  });

  // Code that ran (Python 3.9-3.11; see trace_hook.c and trace.py).
  m.def("trace_start", [] { return fc_trace_start() != 0; });
  m.def("trace_displaced", [] { return fc_trace_displaced() != 0; });
  m.def("trace_stop", [] {
    PyObject* codes = fc_trace_stop();
    if (codes == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::list>(codes);
  });

  // For tests: does the engine understand this expression as pytest would?
  m.def("parse_expression", [](const std::string& s) {
    std::string err;
    auto e = fc::Expression::parse(s, &err);
    return py::make_tuple(e != nullptr, err);
  });
}
