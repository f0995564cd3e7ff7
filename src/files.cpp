#include "files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <xxhash.h>

#include "index.h"

namespace fc {
namespace {

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

bool read_file(const std::string& path, std::string& buf, size_t& size) {
  FdCloser f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return false;
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  // One byte more than the size, so that the final read sees the end.
  if (buf.size() < static_cast<size_t>(st.st_size) + 1) buf.resize(static_cast<size_t>(st.st_size) + 1);
  size_t got = 0;
  while (true) {
    if (got == buf.size()) buf.resize(buf.size() + 65536);
    ssize_t n = ::read(f.fd, &buf[got], buf.size() - got);
    if (n < 0) return false;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  size = got;
  return true;
}

uint64_t content_hash(const char* data, size_t size) { return XXH3_64bits(data, size); }

bool hash_file(const std::string& path, uint64_t& out) {
  // Streamed: dependencies include large shared libraries.
  FdCloser f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return false;
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> st(XXH3_createState(), &XXH3_freeState);
  if (!st) return false;
  XXH3_64bits_reset(st.get());
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) break;
    XXH3_64bits_update(st.get(), buf, static_cast<size_t>(n));
  }
  out = XXH3_64bits_digest(st.get());
  return true;
}

bool is_racy(const FileStat& st, int64_t now_ns, int64_t window_ns) {
  return now_ns - st.mtime_ns < window_ns || now_ns - st.ctime_ns < window_ns;
}

bool is_below(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (dir == "/" || path[dir.size()] == '/');
}

bool in_confcutdir(const std::string& dir, const std::string& confcutdir) {
  return confcutdir.empty() || !is_below(confcutdir, dir);
}

std::string parent_dir(const std::string& path) {
  size_t s = path.rfind('/');
  if (s == std::string::npos) return {};
  return s == 0 ? "/" : path.substr(0, s);
}

uint64_t listing_hash(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
  if (!dir) return 0x6d697373696e67ULL;  // "missing"
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir.get())) {
    std::string name(e->d_name);
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  uint64_t h = XXH3_64bits_withSeed(nullptr, 0, names.size());
  for (const auto& n : names) h = XXH3_64bits_withSeed(n.data(), n.size() + 1, h);  // with its NUL
  return h;
}

}  // namespace fc
