/*
 * accept_milter: the floor of any milter, for `make bench` (tests/bench/README).
 *
 *   accept_milter SOCKET        e.g. inet:8891@127.0.0.1 (libmilter syntax)
 *
 * It negotiates the protocol steps mailtriaged's milter negotiates (milter_negotiate() in
 * milter/milter.c: no unknown commands, leading spaces kept, SKIP, no replies to connect,
 * HELO, headers and end of headers), registers the same callbacks, receives envelope, headers
 * and body, and answers continue at end of message. It records nothing: the difference
 * between it and mailtriaged is the cost of recording. At exit (SIGTERM, SIGINT, SIGHUP make
 * smfi_main() return) it prints "messages: N", the ends of message it answered, so that the
 * bench can tell that Postfix really went through it (milter_default_action = accept hides a
 * dead milter).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <libmilter/mfapi.h>

static atomic_ulong accept_messages;
static atomic_ulong accept_body_bytes;

/* Every connection's state is the agreed protocol, shared by all: what Postfix offers does
 * not change between connections. */
static atomic_ulong accept_protocol;

static sfsistat accept_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
                                 unsigned long f2, unsigned long f3, unsigned long *actions_r,
                                 unsigned long *steps_r, unsigned long *f2_r, unsigned long *f3_r)
{
    static const unsigned long wanted = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_SKIP |
                                        SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH;
    (void)ctx;
    (void)f2;
    (void)f3;
    atomic_store(&accept_protocol, steps & wanted);
    *actions_r = actions & SMFIF_ADDHDRS;
    *steps_r = steps & wanted;
    *f2_r = 0;
    *f3_r = 0;
    return SMFIS_CONTINUE;
}

static sfsistat accept_reply(unsigned long no_reply_flag)
{
    return (atomic_load(&accept_protocol) & no_reply_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat accept_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *address)
{
    (void)ctx;
    (void)hostname;
    (void)address;
    return accept_reply(SMFIP_NR_CONN);
}

static sfsistat accept_helo(SMFICTX *ctx, char *helo)
{
    (void)ctx;
    (void)helo;
    return accept_reply(SMFIP_NR_HELO);
}

static sfsistat accept_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat accept_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

/* Registered, as mailtriaged does: without a DATA callback Postfix's DATA-stage macros wait
 * for a delayed ACK (REFERENCE.md section 4). */
static sfsistat accept_data(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat accept_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx;
    (void)name;
    (void)value;
    return accept_reply(SMFIP_NR_HDR);
}

static sfsistat accept_eoh(SMFICTX *ctx)
{
    (void)ctx;
    return accept_reply(SMFIP_NR_EOH);
}

static sfsistat accept_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    (void)ctx;
    (void)data;
    atomic_fetch_add(&accept_body_bytes, len);
    return SMFIS_CONTINUE;
}

static sfsistat accept_eom(SMFICTX *ctx)
{
    (void)ctx;
    atomic_fetch_add(&accept_messages, 1);
    return SMFIS_CONTINUE;
}

static sfsistat accept_abort(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat accept_close(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static struct smfiDesc accept_description = {
    .xxfi_name = "accept_milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS,
    .xxfi_connect = accept_connect,
    .xxfi_helo = accept_helo,
    .xxfi_envfrom = accept_envfrom,
    .xxfi_envrcpt = accept_envrcpt,
    .xxfi_header = accept_header,
    .xxfi_eoh = accept_eoh,
    .xxfi_body = accept_body,
    .xxfi_eom = accept_eom,
    .xxfi_abort = accept_abort,
    .xxfi_close = accept_close,
    .xxfi_data = accept_data,
    .xxfi_negotiate = accept_negotiate,
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: accept_milter SOCKET (e.g. inet:8891@127.0.0.1)\n");
        return 64;
    }
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(accept_description) != MI_SUCCESS ||
        smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "accept_milter: cannot listen on %s\n", argv[1]);
        return 1;
    }
    printf("listening on %s\n", argv[1]);
    fflush(stdout);
    int status = smfi_main() == MI_SUCCESS ? 0 : 1;
    printf("messages: %lu\nbody bytes: %lu\n", atomic_load(&accept_messages),
           atomic_load(&accept_body_bytes));
    return status;
}
