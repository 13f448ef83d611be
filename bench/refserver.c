/* sockecho-refserver: the benchmark's reference, "what the machine can do". A minimal
 * uppercase echo server: one thread, one level-triggered epoll loop, non-blocking sockets,
 * one shared read buffer, no logging, no exit word, no limits.
 *
 *   sockecho-refserver [-u] [-d] [-b ADDR] PORT   (PORT 0 picks one; the LISTEN line shows it)
 *
 * -d makes it a discard sink (reads, answers nothing, closes on EOF).
 * TCP: replies as data arrives; a client whose replies do not fit in its socket buffer is
 * not read from until they are written. UDP (-u): one reply datagram per datagram. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
  int fd;
  size_t len; /* bytes of pending not yet written */
  size_t off;
  char* pending;
};

static char buf[1 << 16];
static int discard;

static void upper(char* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] >= 'a' && p[i] <= 'z') p[i] = (char)(p[i] - 'a' + 'A');
}

static void die(const char* what) {
  fprintf(stderr, "sockecho-refserver: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void drop(struct conn* c) {
  close(c->fd); /* also removes it from the epoll set */
  free(c->pending);
  free(c);
}

static void watch(int ep, int op, struct conn* c, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, op, c->fd, &ev) != 0) die("epoll_ctl");
}

/* Writes what is pending; returns 0 when all of it went, 1 when some is left, -1 on error. */
static int flush(struct conn* c) {
  while (c->len > 0) {
    ssize_t w = send(c->fd, c->pending + c->off, c->len, MSG_NOSIGNAL);
    if (w < 0) return (errno == EAGAIN || errno == EINTR) ? 1 : -1;
    c->off += (size_t)w;
    c->len -= (size_t)w;
  }
  free(c->pending);
  c->pending = NULL;
  c->off = 0;
  return 0;
}

static void on_client(int ep, struct conn* c, unsigned events) {
  (void)events;
  if (c->len > 0) { /* waiting to write: not reading meanwhile */
    int r = flush(c);
    if (r < 0)
      drop(c);
    else if (r == 0)
      watch(ep, EPOLL_CTL_MOD, c, EPOLLIN);
    return;
  }
  ssize_t n = recv(c->fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) { /* EOF or error: nothing is pending here, so close */
    drop(c);
    return;
  }
  if (discard) return;
  upper(buf, (size_t)n);
  ssize_t w = send(c->fd, buf, (size_t)n, MSG_NOSIGNAL);
  if (w < 0 && errno != EAGAIN && errno != EINTR) {
    drop(c);
    return;
  }
  if (w < 0) w = 0;
  if (w < n) { /* keep the rest, stop reading until it is written */
    c->len = (size_t)(n - w);
    c->pending = malloc(c->len);
    if (!c->pending) die("malloc");
    memcpy(c->pending, buf + w, c->len);
    watch(ep, EPOLL_CTL_MOD, c, EPOLLOUT);
  }
}

static void serve_udp(int fd) {
  for (;;) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr*)&peer, &plen);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvfrom");
    }
    if (discard) continue;
    upper(buf, (size_t)n);
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr*)&peer, plen);
  }
}

int main(int argc, char** argv) {
  int udp = 0, opt;
  const char* bind_addr = "127.0.0.1";
  while ((opt = getopt(argc, argv, "udb:h")) != -1) {
    if (opt == 'u')
      udp = 1;
    else if (opt == 'd')
      discard = 1;
    else if (opt == 'b')
      bind_addr = optarg;
    else {
      fprintf(stderr, "usage: sockecho-refserver [-u] [-d] [-b IPV4ADDR] PORT\n");
      return opt == 'h' ? 0 : 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "usage: sockecho-refserver [-u] [-d] [-b IPV4ADDR] PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)atoi(argv[optind]))};
  if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
    fprintf(stderr, "sockecho-refserver: bad address %s\n", bind_addr);
    return 2;
  }
  int ls = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM | SOCK_NONBLOCK) | SOCK_CLOEXEC, 0);
  int one = 1;
  if (ls < 0) die("socket");
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr*)&addr, sizeof addr) != 0) die("bind");
  if (!udp && listen(ls, 4096) != 0) die("listen");
  socklen_t alen = sizeof addr;
  getsockname(ls, (struct sockaddr*)&addr, &alen);
  printf("%s %s:%d LISTEN\n", udp ? "udp" : "tcp", bind_addr, ntohs(addr.sin_port));
  fflush(stdout);
  if (udp) serve_udp(ls); /* a blocking loop is all one socket needs */

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) != 0) die("epoll_ctl");
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr) {
        on_client(ep, evs[i].data.ptr, evs[i].events);
        continue;
      }
      for (;;) { /* accept everything queued */
        int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE) perror("sockecho-refserver: accept");
          break;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn* c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        watch(ep, EPOLL_CTL_ADD, c, EPOLLIN);
      }
    }
  }
}
