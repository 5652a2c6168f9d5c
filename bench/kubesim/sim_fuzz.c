/* sim_fuzz.c - libFuzzer target for kubesim's request path: HTTP parsing,
 * JSON bodies, patches, selectors and query parameters. Each input is sent as
 * raw bytes on a fresh connection to an in-process kubesim (started once),
 * the write side is closed, and the answer is read to the end; the server must
 * answer or disconnect, and never crash or leak (ASan/LSan).
 *
 * Build (clang only): cmake -DCMAKE_C_COMPILER=clang -DASC_FUZZ=ON -DASC_SANITIZE=ON ...;
 * seeds: kubesim-fuzz-seeds tests/golden DIR (raw requests from the golden files). */
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "bench/kubesim/sim_server.h"

static sim_server *server;

/* OpenSSL keeps a per-thread error queue (made on the server thread by the first
 * hash) that LeakSanitizer cannot see through; it is freed at thread exit. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
    return "leak:CRYPTO_zalloc\n";
}

static void
stop_server(void)
{
    sim_stop(server);
    server = NULL;
}

static void
exchange(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sim_port(server))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return;
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    char buf[65536];
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, 5000) > 0) {
        if (recv(fd, buf, sizeof buf, 0) <= 0) break;
    }
    close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server) {
        sim_config cfg;
        sim_config_defaults(&cfg);
        cfg.quiet = 1;
        cfg.nodes = 1;
        char err[256];
        server = sim_start(&cfg, err, sizeof err);
        if (!server) {
            fprintf(stderr, "sim_fuzz: %s\n", err);
            abort();
        }
        atexit(stop_server);
        /* OpenSSL caches what discovery's hashing fetches on first use; warm it up so
         * per-input leak checks see only kubesim's own allocations */
        static const char warm[] = "GET /api/v1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "GET /apis/agents.x-k8s.io/v1beta1 HTTP/1.1\r\nHost: x\r\n\r\n";
        exchange((const uint8_t *)warm, sizeof warm - 1);
    }
    exchange(data, size);
    /* faults set by an input must not make every later input meaningless */
    if (memmem(data, size, "/kubesim/faults", 15)) {
        static const char clear[] = "DELETE /kubesim/faults HTTP/1.1\r\nHost: x\r\n\r\n";
        exchange((const uint8_t *)clear, sizeof clear - 1);
    }
    return 0;
}
