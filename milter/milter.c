/*
 * milter: the libmilter callbacks of mailtriaged; see milter.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <libmilter/mfapi.h>

#include "addr.h"
#include "config_check.h"
#include "db.h"
#include "intake.h"
#include "log.h"
#include "markers.h"
#include "milter.h"
#include "recorder.h"
#include "staff.h"

#define MILTER_MAX_RCPTS 1000
#define MILTER_MAX_FIELD 1024

/* Process-wide state: the configuration for new messages and the one writer that records
 * them (recorder.h). */
static struct {
    GMutex lock;
    struct config *cfg;
    struct recorder *recorder;
    void (*wake)(void *);
    void *wake_data;
    char *socket; /* libmilter keeps the pointer given to smfi_setconn() until smfi_main() ends */
} milter;

struct milter_conn {
    char *client_addr;
    char *helo;
    unsigned long protocol;     /* SMFIP_* flags agreed */
    struct intake_message *msg; /* the message in progress, with the configuration it uses */
    gboolean pending_cr;        /* its last body chunk ended in CR */
    gboolean staff_sender;      /* watch_outbound, and its sender is staff (staff.h) */
    gboolean staff;             /* and a recipient is outside: a staff message, not inbound */
};

static struct config *milter_get_config(void)
{
    g_mutex_lock(&milter.lock);
    struct config *cfg = config_ref(milter.cfg);
    g_mutex_unlock(&milter.lock);
    return cfg;
}

void milter_set_config(struct config *cfg)
{
    g_mutex_lock(&milter.lock);
    struct config *old = milter.cfg;
    milter.cfg = config_ref(cfg);
    g_mutex_unlock(&milter.lock);
    config_unref(old);
}

static void milter_conn_end_message(struct milter_conn *conn)
{
    intake_message_free(conn->msg);
    conn->msg = NULL;
    conn->pending_cr = FALSE;
    conn->staff_sender = conn->staff = FALSE;
}

static sfsistat milter_continue(const struct milter_conn *conn, unsigned long no_reply_flag)
{
    return conn != NULL && (conn->protocol & no_reply_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat milter_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
                                 unsigned long f2, unsigned long f3, unsigned long *actions_r,
                                 unsigned long *steps_r, unsigned long *f2_r, unsigned long *f3_r)
{
    /* Steps we do not need are switched off, replies we never vary are not sent. */
    static const unsigned long wanted = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_SKIP |
                                        SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH;
    struct milter_conn *conn = g_new0(struct milter_conn, 1);
    conn->protocol = steps & wanted;
    *actions_r = actions & SMFIF_ADDHDRS;
    *steps_r = conn->protocol;
    *f2_r = 0;
    *f3_r = 0;
    smfi_setpriv(ctx, conn);
    return SMFIS_CONTINUE;
}

static struct milter_conn *milter_conn(SMFICTX *ctx)
{
    struct milter_conn *conn = smfi_getpriv(ctx);
    if (conn == NULL) { /* an MTA that does not negotiate (milter protocol 2) */
        conn = g_new0(struct milter_conn, 1);
        smfi_setpriv(ctx, conn);
    }
    return conn;
}

static sfsistat milter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *address)
{
    struct milter_conn *conn = milter_conn(ctx);
    char text[INET6_ADDRSTRLEN] = "";
    if (address != NULL && address->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)address)->sin_addr, text, sizeof(text));
    else if (address != NULL && address->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)address)->sin6_addr, text,
                  sizeof(text));
    g_free(conn->client_addr);
    conn->client_addr =
        g_strndup(*text != '\0' ? text : (hostname != NULL ? hostname : ""), MILTER_MAX_FIELD);
    return milter_continue(conn, SMFIP_NR_CONN);
}

static sfsistat milter_helo(SMFICTX *ctx, char *helo)
{
    struct milter_conn *conn = milter_conn(ctx);
    g_free(conn->helo);
    conn->helo = g_strndup(helo != NULL ? helo : "", MILTER_MAX_FIELD);
    return milter_continue(conn, SMFIP_NR_HELO);
}

static sfsistat milter_envfrom(SMFICTX *ctx, char **argv)
{
    struct milter_conn *conn = milter_conn(ctx);
    milter_conn_end_message(conn);
    struct config *cfg = milter_get_config();
    struct intake_message *msg = intake_message_new(INTAKE_MILTER, cfg);
    config_unref(cfg);
    msg->envelope_from = addr_bare(argv != NULL ? argv[0] : NULL, MILTER_MAX_FIELD);
    msg->client_addr = g_strdup(conn->client_addr);
    msg->helo = g_strdup(conn->helo);
    conn->msg = msg;
    conn->staff_sender =
        msg->cfg->daemon.watch_outbound && staff_is_sender(msg->cfg, msg->envelope_from);
    return SMFIS_CONTINUE;
}

static sfsistat milter_envrcpt(SMFICTX *ctx, char **argv)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg == NULL || conn->msg->rcpts->len >= MILTER_MAX_RCPTS)
        return SMFIS_CONTINUE;
    char *rcpt = addr_bare(argv != NULL ? argv[0] : NULL, MILTER_MAX_FIELD);
    /* Every recipient is kept for the row; the unmonitored ones need no word in the log. */
    intake_add_recipient(conn->msg, rcpt, NULL);
    if (conn->staff_sender && !conn->staff)
        conn->staff = staff_is_outside(conn->msg->cfg, rcpt);
    g_free(rcpt);
    return SMFIS_CONTINUE;
}

static sfsistat milter_data(SMFICTX *ctx)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg == NULL || (conn->msg->mailboxes->len == 0 && !conn->staff)) {
        /* Nothing for us: the MTA stops sending this message to the milter. */
        milter_conn_end_message(conn);
        return SMFIS_ACCEPT;
    }
    return SMFIS_CONTINUE;
}

static sfsistat milter_header(SMFICTX *ctx, char *name, char *value)
{
    struct milter_conn *conn = milter_conn(ctx);
    /* The worker takes From and Subject when it parses the message; the Message-ID is needed
     * now, to recognise a duplicate when the row is written. */
    if (conn->msg != NULL && conn->msg->message_id == NULL && value != NULL &&
        g_ascii_strcasecmp(name, "Message-ID") == 0) {
        char *id = addr_bare(value, MILTER_MAX_FIELD);
        if (*id != '\0' && strpbrk(id, " \t\r\n") == NULL)
            conn->msg->message_id = id;
        else
            g_free(id);
    }
    if (conn->msg != NULL) {
        GString *line = g_string_new(name);
        g_string_append_c(line, ':');
        if (!(conn->protocol & SMFIP_HDR_LEADSPC))
            g_string_append_c(line, ' ');
        /* Folded values come with CRLF or LF inside; the record uses LF throughout. */
        for (const char *p = value != NULL ? value : ""; *p != '\0'; p++)
            if (*p != '\r')
                g_string_append_c(line, *p);
        g_string_append_c(line, '\n');
        intake_append(conn->msg, line->str, line->len);
        g_string_free(line, TRUE);
    }
    return milter_continue(conn, SMFIP_NR_HDR);
}

static sfsistat milter_eoh(SMFICTX *ctx)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg != NULL)
        intake_append(conn->msg, "\n", 1);
    return milter_continue(conn, SMFIP_NR_EOH);
}

static sfsistat milter_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg == NULL)
        return SMFIS_CONTINUE;
    /* CRLF to LF, also across chunk boundaries: the text between CRs goes in whole. */
    const unsigned char *p = data, *end = data + len;
    if (conn->pending_cr && p < end) {
        if (*p != '\n')
            intake_append(conn->msg, "\r", 1);
        conn->pending_cr = FALSE;
    }
    while (p < end) {
        const unsigned char *cr = memchr(p, '\r', (size_t)(end - p));
        if (cr == NULL) {
            intake_append(conn->msg, p, (size_t)(end - p));
            break;
        }
        intake_append(conn->msg, p, (size_t)(cr - p));
        if (cr + 1 == end) { /* is it CRLF? the next chunk says */
            conn->pending_cr = TRUE;
            break;
        }
        if (cr[1] != '\n')
            intake_append(conn->msg, "\r", 1);
        p = cr + 1;
    }
    if (intake_truncated(conn->msg) && (conn->protocol & SMFIP_SKIP))
        return SMFIS_SKIP;
    return SMFIS_CONTINUE;
}

/* Our ids in a header of the delivered copy, when add_header asks for it. */
static void milter_add_id_header(SMFICTX *ctx, const struct milter_conn *conn, const GArray *ids)
{
    if (!conn->msg->cfg->daemon.add_header)
        return;
    GString *list = g_string_new(NULL);
    for (guint i = 0; i < ids->len; i++)
        g_string_append_printf(list, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "",
                               g_array_index(ids, gint64, i));
    /* With SMFIP_HDR_LEADSPC agreed, values are passed with their leading space. */
    if (conn->protocol & SMFIP_HDR_LEADSPC)
        g_string_prepend_c(list, ' ');
    if (smfi_addheader(ctx, MARKERS_QUEUE_ID_HEADER, list->str) != MI_SUCCESS)
        log_warn("%s: the MTA refused the %s header", conn->msg->mta_queue_id,
                 MARKERS_QUEUE_ID_HEADER);
    g_string_free(list, TRUE);
}

/* A staff message: its own row (staff.h), never a queued inbound message. The mail goes on
 * whatever becomes of the record, which only tells a conversation that a person answered. */
static sfsistat milter_eom_staff(SMFICTX *ctx, struct milter_conn *conn)
{
    const char *symbol = smfi_getsymval(ctx, "i");
    conn->msg->mta_queue_id = symbol != NULL ? g_strndup(symbol, 64) : g_strdup("NOQUEUE");
    char *error = NULL;
    gint64 id = 0;
    if (recorder_record_staff(milter.recorder, conn->msg, &id, &error) != DB_OK) {
        log_error("%s: cannot record the staff message: %s; accepted", conn->msg->mta_queue_id,
                  error);
        g_free(error);
    } else if (milter.wake != NULL)
        milter.wake(milter.wake_data);
    milter_conn_end_message(conn);
    return SMFIS_CONTINUE;
}

static sfsistat milter_eom(SMFICTX *ctx)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg != NULL && conn->staff)
        return milter_eom_staff(ctx, conn);
    if (conn->msg == NULL || conn->msg->mailboxes->len == 0) {
        milter_conn_end_message(conn);
        return SMFIS_CONTINUE;
    }
    conn->msg->started = g_get_monotonic_time();
    const char *symbol = smfi_getsymval(ctx, "i");
    conn->msg->mta_queue_id = symbol != NULL ? g_strndup(symbol, 64) : g_strdup("NOQUEUE");
    GArray *ids = NULL;
    char *error = NULL;
    sfsistat result = SMFIS_CONTINUE;

    if (recorder_record(milter.recorder, conn->msg, &ids, &error) != DB_OK) {
        gboolean tempfail = conn->msg->cfg->daemon.on_error == CONFIG_ON_ERROR_TEMPFAIL;
        log_error("%s: cannot record the message: %s; %s", conn->msg->mta_queue_id, error,
                  tempfail ? "answered 451" : "accepted untriaged (on_error = accept)");
        g_free(error);
        if (tempfail) {
            smfi_setreply(ctx, "451", "4.3.0",
                          "mailtriage cannot record the message now, try again later");
            result = SMFIS_TEMPFAIL;
        }
    } else {
        milter_add_id_header(ctx, conn, ids);
        g_array_unref(ids);
        if (milter.wake != NULL)
            milter.wake(milter.wake_data);
    }
    milter_conn_end_message(conn);
    return result;
}

static sfsistat milter_abort(SMFICTX *ctx)
{
    struct milter_conn *conn = smfi_getpriv(ctx);
    if (conn != NULL)
        milter_conn_end_message(conn);
    return SMFIS_CONTINUE;
}

static sfsistat milter_close(SMFICTX *ctx)
{
    struct milter_conn *conn = smfi_getpriv(ctx);
    if (conn != NULL) {
        milter_conn_end_message(conn);
        g_free(conn->client_addr);
        g_free(conn->helo);
        g_free(conn);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

static struct smfiDesc milter_description = {
    .xxfi_name = "mailtriage",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS,
    .xxfi_connect = milter_connect,
    .xxfi_helo = milter_helo,
    .xxfi_envfrom = milter_envfrom,
    .xxfi_envrcpt = milter_envrcpt,
    .xxfi_header = milter_header,
    .xxfi_eoh = milter_eoh,
    .xxfi_body = milter_body,
    .xxfi_eom = milter_eom,
    .xxfi_abort = milter_abort,
    .xxfi_close = milter_close,
    .xxfi_data = milter_data,
    .xxfi_negotiate = milter_negotiate,
};

static int milter_set_socket_access(const struct config *cfg, char **error_r)
{
    const char *path = config_check_unix_socket(cfg->daemon.socket);
    if (path == NULL)
        return 0;
    if (*cfg->daemon.socket_group != '\0') {
        struct group *group = getgrnam(cfg->daemon.socket_group);
        if (group == NULL) {
            *error_r = g_strdup_printf("socket_group %s: no such group", cfg->daemon.socket_group);
            return -1;
        }
        if (chown(path, (uid_t)-1, group->gr_gid) < 0) {
            *error_r = g_strdup_printf("chown %s: %s", path, g_strerror(errno));
            return -1;
        }
    }
    if (chmod(path, (mode_t)cfg->daemon.socket_mode) < 0) {
        *error_r = g_strdup_printf("chmod %s: %s", path, g_strerror(errno));
        return -1;
    }
    return 0;
}

/* Stop the writer (it records what still waits) and drop what milter_start() took. */
static void milter_release(void)
{
    recorder_stop(milter.recorder);
    milter.recorder = NULL;
    g_mutex_lock(&milter.lock);
    config_unref(milter.cfg);
    milter.cfg = NULL;
    g_free(milter.socket);
    milter.socket = NULL;
    g_mutex_unlock(&milter.lock);
}

int milter_start(struct config *cfg, char **error_r)
{
    g_mutex_lock(&milter.lock);
    milter.cfg = config_ref(cfg);
    g_mutex_unlock(&milter.lock);
    milter.recorder = recorder_start();

    char *socket = milter.socket = g_strdup(cfg->daemon.socket);
    int result = 0;
    if (smfi_setconn(socket) != MI_SUCCESS) {
        *error_r = g_strdup_printf("socket %s: not a milter socket specification", socket);
        result = -1;
    } else if (smfi_register(milter_description) != MI_SUCCESS) {
        *error_r = g_strdup("smfi_register failed");
        result = -1;
    } else if (smfi_opensocket(true) != MI_SUCCESS) { /* true: remove a stale unix socket */
        *error_r = g_strdup_printf("cannot listen on %s (in use, or no permission on its "
                                   "directory?)",
                                   socket);
        result = -1;
    } else
        result = milter_set_socket_access(cfg, error_r);
    if (result < 0)
        milter_release();
    return result;
}

int milter_run(void (*wake)(void *), void *wake_data)
{
    milter.wake = wake;
    milter.wake_data = wake_data;
    int status = smfi_main() == MI_SUCCESS ? 0 : -1;
    milter_release();
    return status;
}
