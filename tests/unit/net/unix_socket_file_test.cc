#include "system_error_of.h"
#include "net/unix_socket_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "failpoint.h"
#include "net/sys.h"

using namespace sockecho::net;
using sockecho::test::error_of;
namespace fs = std::filesystem;

namespace {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sockecho-unix-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string operator/(const char* name) const { return (path / name).string(); }
};

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// Whether a stream client can connect to path.
bool answers(const std::string& path) {
  Fd fd = open_socket(AF_UNIX, SockType::stream);
  Address a = Address::unix_path(path);
  return sys::connect(fd.get(), a.get(), a.size()).ok();
}

}  // namespace

TEST_CASE("net::open_unix_listener creates the socket file and removes it at the end") {
  TempDir dir;
  std::string path = dir / "s";
  {
    UnixListener l = open_unix_listener(path, SockType::stream, {}, std::nullopt);
    CHECK(is_socket(path));
    CHECK(answers(path));
  }
  CHECK_FALSE(fs::exists(path));
  {
    UnixListener l = open_unix_listener(path, SockType::datagram, {}, std::nullopt);
    CHECK(is_socket(path));
  }
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("net::open_unix_listener replaces a stale socket file") {
  TempDir dir;
  std::string path = dir / "stale";
  {
    // A socket bound and never listened on, then closed: the file stays, nobody answers.
    Fd fd = open_socket(AF_UNIX, SockType::stream);
    Address a = Address::unix_path(path);
    REQUIRE(sys::bind(fd.get(), a.get(), a.size()).ok());
  }
  REQUIRE(is_socket(path));
  REQUIRE_FALSE(answers(path));
  UnixListener l = open_unix_listener(path, SockType::stream, {}, std::nullopt);
  CHECK(answers(path));
}

TEST_CASE("net::open_unix_listener leaves a live server's socket alone") {
  TempDir dir;
  std::string path = dir / "live";
  UnixListener first = open_unix_listener(path, SockType::stream, {}, std::nullopt);
  std::string what;
  CHECK(error_of([&] { open_unix_listener(path, SockType::stream, {}, std::nullopt); }, what) ==
        EADDRINUSE);
  CHECK(what.find("a server is listening there") != std::string::npos);
  CHECK(answers(path));  // still the first server's
}

TEST_CASE("net::open_unix_listener refuses a path that is not a socket") {
  TempDir dir;
  std::string path = dir / "file";
  std::ofstream(path) << "keep me";
  std::string what;
  CHECK(error_of([&] { open_unix_listener(path, SockType::stream, {}, std::nullopt); }, what) ==
        EEXIST);
  CHECK(what.find("not a socket, left untouched") != std::string::npos);
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  CHECK(content == "keep me");
}

TEST_CASE("net::UnixSocketFile removes only the socket it created") {
  TempDir dir;
  std::string path = dir / "s";
  auto first = std::make_unique<UnixListener>(
      open_unix_listener(path, SockType::stream, {}, std::nullopt));
  REQUIRE(::unlink(path.c_str()) == 0);  // someone removed it, and a successor took the path
  UnixListener second = open_unix_listener(path, SockType::stream, {}, std::nullopt);
  first.reset();
  CHECK(is_socket(path));
  CHECK(answers(path));
}

TEST_CASE("net::open_unix_listener gives the socket file the mode asked for") {
  TempDir dir;
  std::string path = dir / "s";
  UnixListener l = open_unix_listener(path, SockType::stream, {}, 0600u);
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("net::open_unix_listener: an abstract name leaves no file") {
  std::string name = "@sockecho-test-" + std::to_string(::getpid());
  UnixListener l = open_unix_listener(name, SockType::stream, {}, std::nullopt);
  CHECK(answers(name));
}

#ifdef SOCKECHO_FAULTS

using sockecho::test::Failpoint;

TEST_CASE("net::open_unix_listener reports a stale file it cannot remove") {
  TempDir dir;
  std::string path = dir / "stale";
  {
    Fd fd = open_socket(AF_UNIX, SockType::stream);
    Address a = Address::unix_path(path);
    REQUIRE(sys::bind(fd.get(), a.get(), a.size()).ok());
  }
  {
    Failpoint fp("net/unlink", EACCES);
    std::string what;
    CHECK(error_of([&] { open_unix_listener(path, SockType::stream, {}, std::nullopt); },
                   what) == EACCES);
    CHECK(what.find("remove stale " + path) == 0);
  }
  CHECK(is_socket(path));
  {
    Failpoint fp("net/lstat", EACCES);
    std::string what;
    CHECK(error_of([&] { open_unix_listener(path, SockType::stream, {}, std::nullopt); },
                   what) == EACCES);
    CHECK(what.find("stat " + path) == 0);
  }
  {
    Failpoint fp("net/chmod", EPERM);
    std::string what;
    CHECK(error_of([&] { open_unix_listener(path, SockType::stream, {}, 0600u); }, what) ==
          EPERM);
    CHECK(what.find("chmod " + path) == 0);
  }
  CHECK_FALSE(fs::exists(path));  // the half-made listener's file went with it
}

#endif  // SOCKECHO_FAULTS
