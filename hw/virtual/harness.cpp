// The virtual board: the verilated System (hw/board/system.py) with its UART pins bridged
// to a TCP socket, so that pyserial's socket:// URL reaches it like a serial port.
//
// The harness is the board's "FT2232H": it serialises the bytes a client sends onto the
// rx pin, 8N1 at `divisor` clock cycles a bit, and deserialises the tx pin into bytes it
// sends back. It samples tx mid-bit exactly as a UART does, so a framing fault of the
// design shows up as a wrong byte, not as something the harness hides. Once the design
// has been idle, with nothing in flight either way, for `settle` cycles (longer than the
// frame receiver's timeout, so a partial frame is dropped as on the board) it sleeps in
// poll(): an idle board costs no CPU, and its clock stands still until the next byte.
//
// Usage: vboard --port N [--divisor D] [--settle CYCLES]   (port 0: any free port)
// It prints "listening on socket://127.0.0.1:PORT" once the socket is bound.

#include <arpa/inet.h>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "Vtop.h"
#include "verilated.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) { stop_requested = 1; }

struct Args {
    int port = 0;
    int divisor = 4;
    long settle = 20000;
};

Args parse(int argc, char **argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--port") && i + 1 < argc) a.port = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--divisor") && i + 1 < argc) a.divisor = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--settle") && i + 1 < argc) a.settle = std::atol(argv[++i]);
        else if (!std::strncmp(argv[i], "+", 1)) continue;   // verilator plusargs
        else {
            std::fprintf(stderr, "vboard: unknown argument %s\n", argv[i]);
            std::exit(2);
        }
    }
    if (a.divisor < 2) {
        std::fprintf(stderr, "vboard: --divisor must be at least 2\n");
        std::exit(2);
    }
    return a;
}

// Drives the rx pin from a byte queue.
struct UartDriver {
    int divisor;
    std::deque<uint8_t> queue;
    int bit = -1;          // -1: idle; 0: start; 1..8: data; 9: stop
    int left = 0;          // cycles left in this bit
    uint8_t byte = 0;

    int pin() const {
        if (bit < 0 || bit == 9) return 1;
        if (bit == 0) return 0;
        return (byte >> (bit - 1)) & 1;
    }
    bool busy() const { return bit >= 0 || !queue.empty(); }
    void step() {
        if (bit < 0) {
            if (queue.empty()) return;
            byte = queue.front();
            queue.pop_front();
            bit = 0;
            left = divisor;
        }
        if (--left == 0) {
            if (++bit == 10) bit = -1;
            else left = divisor;
        }
    }
};

// Samples the tx pin into bytes.
struct UartMonitor {
    int divisor;
    int bit = -1;          // -1: waiting for a start bit
    int count = 0;
    uint8_t byte = 0;

    // Returns a byte (0..255) when one completes, -1 otherwise.
    int step(int pin) {
        if (bit < 0) {
            if (pin == 0) { bit = 0; count = divisor / 2; }
            return -1;
        }
        if (--count > 0) return -1;
        count = divisor;
        if (bit == 0) {
            if (pin != 0) { bit = -1; return -1; }     // a glitch, not a start bit
            bit = 1;
            byte = 0;
            return -1;
        }
        if (bit <= 8) {
            byte |= (pin & 1) << (bit - 1);
            ++bit;
            return -1;
        }
        bit = -1;                                    // the stop bit
        return pin ? byte : -1;
    }
};

int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0 || listen(fd, 1) < 0) {
        std::perror("vboard: bind/listen");
        std::exit(1);
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    std::printf("listening on socket://127.0.0.1:%d\n", ntohs(addr.sin_port));
    std::fflush(stdout);
    return fd;
}

}  // namespace

int main(int argc, char **argv) {
    Verilated::commandArgs(argc, argv);
    Args args = parse(argc, argv);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    Vtop top;
    UartDriver drv{args.divisor};
    UartMonitor mon{args.divisor};
    top.rx = 1;
    top.rst = 1;
    for (int i = 0; i < 4; ++i) { top.clk = 0; top.eval(); top.clk = 1; top.eval(); }
    top.rst = 0;

    int server = listen_on(args.port);
    int client = -1;
    std::deque<uint8_t> outgoing;
    uint64_t cycle = 0;
    long calm = 0;         // cycles with the design idle and nothing in flight

    while (!stop_requested) {
        bool quiescent = calm > args.settle;
        if (client < 0 || quiescent || (cycle & 255) == 0) {
            pollfd fds[1];
            fds[0].fd = client < 0 ? server : client;
            fds[0].events = POLLIN;
            int timeout = (client < 0 || quiescent) ? 50 : 0;
            int ready = poll(fds, 1, timeout);
            if (ready > 0) {
                if (client < 0) {
                    client = accept(server, nullptr, nullptr);
                    if (client >= 0) {
                        int one = 1;
                        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        fcntl(client, F_SETFL, O_NONBLOCK);
                    }
                } else {
                    uint8_t buf[4096];
                    ssize_t n = recv(client, buf, sizeof buf, 0);
                    if (n > 0) drv.queue.insert(drv.queue.end(), buf, buf + n);
                    else if (n == 0) { close(client); client = -1; }
                }
            }
            if (client < 0 || (quiescent && drv.queue.empty())) continue;
        }

        drv.step();
        top.rx = drv.pin();
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
        ++cycle;
        int byte = mon.step(top.tx);
        if (drv.busy() || !top.idle || mon.bit >= 0 || !top.tx) calm = 0;
        else ++calm;
        if (byte >= 0) outgoing.push_back(static_cast<uint8_t>(byte));
        if (client >= 0 && !outgoing.empty() && (byte >= 0 || (cycle & 255) == 0)) {
            uint8_t buf[4096];
            size_t n = 0;
            while (n < sizeof buf && !outgoing.empty()) { buf[n++] = outgoing.front(); outgoing.pop_front(); }
            ssize_t sent = send(client, buf, n, 0);
            if (sent < 0) sent = 0;
            for (size_t i = n; i > static_cast<size_t>(sent); --i) outgoing.push_front(buf[i - 1]);
        }
    }
    top.final();
    if (client >= 0) close(client);
    close(server);
    return 0;
}
