/* The watched program of bench/scale.py: stamp the start time, then sleep forever.
 *
 * Usage: scale-stamp STAMPFILE
 *
 * First thing in main() it reads CLOCK_MONOTONIC (the clock of Python's
 * time.monotonic_ns()), then writes "<pid> <ns>\n" to STAMPFILE atomically
 * (STAMPFILE.<pid>.tmp, then rename), and waits in pause() in the foreground.
 * SIGTERM makes it exit 0; SIGKILL kills it. It never forks or daemonizes, so any
 * supervisor can run it.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (argc != 2) {
        fprintf(stderr, "usage: %s STAMPFILE\n", argv[0]);
        return 2;
    }
    signal(SIGTERM, on_term);

    char line[64], tmp[4096];
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    int len = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(), ns);
    if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", argv[1], (int)getpid()) >= (int)sizeof tmp) {
        fprintf(stderr, "%s: path too long\n", argv[0]);
        return 1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, len) != len || close(fd) != 0 || rename(tmp, argv[1]) != 0) {
        perror(argv[1]);
        return 1;
    }
    for (;;)
        pause();
}
