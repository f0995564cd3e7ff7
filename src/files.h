// File-system helpers shared by the scan, the dependency hasher and learning:
// one reading-and-hashing of a file, one racy-timestamp rule, one notion of
// "a path below a directory".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fc {

struct FileStat;

// Reads a whole regular file into `buf`, which only grows (a thread reuses it
// for every file, so its bytes are neither allocated nor zeroed again); the
// content is the first `size` bytes. False if the file cannot be read.
bool read_file(const std::string& path, std::string& buf, size_t& size);

// xxh3-64 of a byte range: the content hash of every file in the index.
uint64_t content_hash(const char* data, size_t size);

// Reads a file and hashes its content; false if it cannot be read.
bool hash_file(const std::string& path, uint64_t& out);

// A hash of the names in directory `path` (sorted; a missing or unreadable
// directory has a hash of its own): a listing collection made is an input.
uint64_t listing_hash(const std::string& path);

// Default for racy_window_ns: timestamps within 2 s of the scan.
constexpr int64_t kRacyWindowNs = int64_t{2} * 1000000000;

// The racy-timestamp rule (git's index): stat data taken this close to `now`
// cannot prove a file unchanged later (a coarse file-system clock may hide a
// second write), so its record is re-hashed next time.
bool is_racy(const FileStat& st, int64_t now_ns, int64_t window_ns);

// True when `path` lies strictly below directory `dir` (both absolute, no
// trailing slash; "/" is the root directory).
bool is_below(const std::string& path, const std::string& dir);

// The directory of a path ("/" for a file in the root directory, "" for none).
std::string parent_dir(const std::string& path);

// Does pytest load a conftest.py from `dir`: `dir` is no strict ancestor of
// the confcutdir (pytest's PytestPluginManager._is_in_confcutdir; an empty
// confcutdir cuts nothing).
bool in_confcutdir(const std::string& dir, const std::string& confcutdir);

}  // namespace fc
