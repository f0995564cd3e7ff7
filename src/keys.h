// Every key of the index, in one place. The first byte says what a key holds:
// a test module's or conftest's record is keyed by its absolute path (which
// starts with '/'), everything else by a control byte and a name.
//   \x01schema                 schema version of the whole index (index.cpp)
//   <absolute path>            file record: stat data, content hash, facts (index.h)
//   \x02decisions:<query>      cached decisions of one query (decisions.h)
//   \x02recent-queries         the most recent queries, newest first
//   \x04dep:<path>             stat data and hash of a dependency of learned facts
//   \x04surf:<path>            a dependency's surface hash for one content and set of functions (learned.h)
//   \x04surfrun:<path>         one learning run's surface of a dependency: content, traced code, names, hash
//   \x05generations            the kept learned generations (learned.h)
//   \x05files:<path>           a test module's learned records
//   \x05observed:<id>          what one generation's collection could have read (bindings.h)
#pragma once

#include <cstdint>
#include <string>

namespace fc {

constexpr char kSchemaKey[] = "\x01schema";
inline std::string decision_key(uint64_t query) { return "\x02" "decisions:" + std::to_string(query); }
inline std::string recent_queries_key() { return "\x02" "recent-queries"; }
inline std::string dep_key(const std::string& path) { return "\x04" "dep:" + path; }
inline std::string surface_key(const std::string& path) { return "\x04" "surf:" + path; }
inline std::string surface_run_key(const std::string& path) { return "\x04" "surfrun:" + path; }
inline std::string generations_key() { return "\x05" "generations"; }
inline std::string learned_key(const std::string& path) { return "\x05" "files:" + path; }
inline std::string observed_key(uint64_t generation) { return "\x05" "observed:" + std::to_string(generation); }

}  // namespace fc
