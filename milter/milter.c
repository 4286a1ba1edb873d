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

#include "config_check.h"
#include "db.h"
#include "log.h"
#include "milter.h"
#include "queue.h"

#define MILTER_MAX_RCPTS 1000
#define MILTER_MAX_FIELD 1024
#define MILTER_HEADER_NAME "X-Mailtriage-Id"

/* Process-wide state: the configuration for new messages, and idle database connections (a
 * connection is used by one callback thread at a time). */
static struct {
    GMutex lock;
    struct config *cfg;
    GPtrArray *idle_dbs;
    void (*wake)(void *);
    void *wake_data;
    char *socket; /* libmilter keeps the pointer given to smfi_setconn() until smfi_main() ends */
} milter;

struct milter_message {
    char *envelope_from; /* "" for the null sender */
    char *message_id;    /* without angle brackets, for duplicates */
    GPtrArray *rcpts;
    GPtrArray *mailboxes; /* monitored recipients, as configured */
    GByteArray *raw;
    guint64 size;
    gboolean truncated;
    gboolean pending_cr; /* the last body chunk ended in CR */
};

struct milter_conn {
    char *client_addr;
    char *helo;
    unsigned long protocol; /* SMFIP_* flags agreed */
    struct config *cfg;     /* for the message in progress */
    struct milter_message *msg;
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

static sqlite3 *milter_db_get(const struct config *cfg, char **error_r)
{
    sqlite3 *db = NULL;
    g_mutex_lock(&milter.lock);
    if (milter.idle_dbs->len > 0)
        db = g_ptr_array_steal_index_fast(milter.idle_dbs, milter.idle_dbs->len - 1);
    g_mutex_unlock(&milter.lock);
    if (db == NULL &&
        db_open(cfg->daemon.database, (int)cfg->daemon.busy_timeout * 1000, &db, error_r) != DB_OK)
        return NULL;
    return db;
}

static void milter_db_put(sqlite3 *db)
{
    g_mutex_lock(&milter.lock);
    g_ptr_array_add(milter.idle_dbs, db);
    g_mutex_unlock(&milter.lock);
}

static void milter_message_free(struct milter_message *msg)
{
    if (msg == NULL)
        return;
    g_free(msg->envelope_from);
    g_free(msg->message_id);
    g_ptr_array_unref(msg->rcpts);
    g_ptr_array_unref(msg->mailboxes);
    g_byte_array_unref(msg->raw);
    g_free(msg);
}

static void milter_conn_end_message(struct milter_conn *conn)
{
    milter_message_free(conn->msg);
    conn->msg = NULL;
    config_unref(conn->cfg);
    conn->cfg = NULL;
}

/* An SMTP address argument without angle brackets, cut to a sane length. */
static char *milter_bare_address(const char *arg)
{
    char *text = g_strndup(arg != NULL ? arg : "", MILTER_MAX_FIELD);
    g_strstrip(text);
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '<' && text[len - 1] == '>') {
        memmove(text, text + 1, len - 2);
        text[len - 2] = '\0';
    }
    return text;
}

/* Append DATA to the message within max_message_size; count what is dropped. */
static void milter_append(struct milter_conn *conn, const guint8 *data, size_t len)
{
    struct milter_message *msg = conn->msg;
    guint64 max = conn->cfg->daemon.max_message_size;
    msg->size += len;
    if (msg->raw->len >= max) {
        msg->truncated = TRUE;
        return;
    }
    size_t room = (size_t)MIN((guint64)len, max - msg->raw->len);
    if (room < len)
        msg->truncated = TRUE;
    g_byte_array_append(msg->raw, data, (guint)room);
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
    conn->cfg = milter_get_config();
    struct milter_message *msg = g_new0(struct milter_message, 1);
    msg->envelope_from = milter_bare_address(argv != NULL ? argv[0] : NULL);
    msg->rcpts = g_ptr_array_new_with_free_func(g_free);
    msg->mailboxes = g_ptr_array_new();
    msg->raw = g_byte_array_new();
    conn->msg = msg;
    return SMFIS_CONTINUE;
}

static sfsistat milter_envrcpt(SMFICTX *ctx, char **argv)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg == NULL || conn->msg->rcpts->len >= MILTER_MAX_RCPTS)
        return SMFIS_CONTINUE;
    char *rcpt = milter_bare_address(argv != NULL ? argv[0] : NULL);
    const struct config_mailbox *mailbox = config_mailbox_find(conn->cfg, rcpt);
    if (mailbox != NULL && mailbox->intake == CONFIG_INTAKE_PIPE)
        mailbox = NULL; /* the pipe transport records it */
    if (mailbox != NULL && !g_ptr_array_find(conn->msg->mailboxes, mailbox, NULL))
        g_ptr_array_add(conn->msg->mailboxes, (gpointer)mailbox);
    g_ptr_array_add(conn->msg->rcpts, rcpt);
    return SMFIS_CONTINUE;
}

static sfsistat milter_data(SMFICTX *ctx)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg == NULL || conn->msg->mailboxes->len == 0) {
        /* Nothing for us: the MTA stops sending this message to the milter. */
        milter_conn_end_message(conn);
        return SMFIS_ACCEPT;
    }
    return SMFIS_CONTINUE;
}

static sfsistat milter_header(SMFICTX *ctx, char *name, char *value)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg != NULL && conn->msg->message_id == NULL && value != NULL &&
        g_ascii_strcasecmp(name, "Message-ID") == 0) {
        char *id = milter_bare_address(value);
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
        milter_append(conn, (const guint8 *)line->str, line->len);
        g_string_free(line, TRUE);
    }
    return milter_continue(conn, SMFIP_NR_HDR);
}

static sfsistat milter_eoh(SMFICTX *ctx)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg != NULL)
        milter_append(conn, (const guint8 *)"\n", 1);
    return milter_continue(conn, SMFIP_NR_EOH);
}

static sfsistat milter_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    struct milter_conn *conn = milter_conn(ctx);
    struct milter_message *msg = conn->msg;
    if (msg == NULL)
        return SMFIS_CONTINUE;
    /* CRLF to LF, also across chunk boundaries. */
    GByteArray *chunk = g_byte_array_sized_new((guint)MIN(len + 1, (size_t)G_MAXUINT));
    for (size_t i = 0; i < len; i++) {
        if (msg->pending_cr && data[i] != '\n')
            g_byte_array_append(chunk, (const guint8 *)"\r", 1);
        msg->pending_cr = data[i] == '\r';
        if (!msg->pending_cr)
            g_byte_array_append(chunk, &data[i], 1);
    }
    milter_append(conn, chunk->data, chunk->len);
    g_byte_array_unref(chunk);
    if (msg->truncated && (conn->protocol & SMFIP_SKIP))
        return SMFIS_SKIP;
    return SMFIS_CONTINUE;
}

/* Record the message: one row per monitored mailbox, one transaction. */
static int milter_record(struct milter_conn *conn, const char *queue_id, GArray *ids,
                         char **error_r)
{
    struct milter_message *msg = conn->msg;
    char *rcpts = NULL;
    g_ptr_array_add(msg->rcpts, NULL);
    rcpts = g_strjoinv(" ", (char **)msg->rcpts->pdata);
    g_ptr_array_remove_index(msg->rcpts, msg->rcpts->len - 1);

    GArray *rows = g_array_new(FALSE, TRUE, sizeof(struct queue_new));
    for (guint i = 0; i < msg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(msg->mailboxes, i);
        struct queue_new row = {
            .intake = "milter",
            .mta_queue_id = queue_id,
            .mailbox = mailbox->address,
            .envelope_from = msg->envelope_from,
            .rcpts = rcpts,
            .client_addr = conn->client_addr,
            .helo = conn->helo,
            .message_id = msg->message_id,
            .raw = (const char *)msg->raw->data,
            .raw_len = msg->raw->len,
            .size = (size_t)msg->size,
            .truncated = msg->truncated,
        };
        g_array_append_val(rows, row);
    }
    g_array_set_size(ids, rows->len);
    int status = DB_ERROR;
    sqlite3 *db = milter_db_get(conn->cfg, error_r);
    if (db != NULL) {
        /* The worker fills From and Subject when it parses the message; the Message-ID,
         * taken in the header callback, is needed now to recognise duplicates. */
        status = queue_insert(db, (struct queue_new *)(void *)rows->data, rows->len,
                              (gint64 *)(void *)ids->data, error_r);
        if (status == DB_OK || status == DB_BUSY)
            milter_db_put(db);
        else
            db_close(db);
    }
    g_array_unref(rows);
    g_free(rcpts);
    return status;
}

static sfsistat milter_eom(SMFICTX *ctx)
{
    struct milter_conn *conn = milter_conn(ctx);
    if (conn->msg == NULL || conn->msg->mailboxes->len == 0) {
        milter_conn_end_message(conn);
        return SMFIS_CONTINUE;
    }
    const char *symbol = smfi_getsymval(ctx, "i");
    char *queue_id = symbol != NULL ? g_strndup(symbol, 64) : g_strdup("NOQUEUE");
    GArray *ids = g_array_new(FALSE, TRUE, sizeof(gint64));
    char *error = NULL;
    sfsistat result = SMFIS_CONTINUE;

    if (milter_record(conn, queue_id, ids, &error) != DB_OK) {
        gboolean tempfail = conn->cfg->daemon.on_error == CONFIG_ON_ERROR_TEMPFAIL;
        log_error("%s: cannot record the message: %s; %s", queue_id, error,
                  tempfail ? "answered 451" : "accepted untriaged (on_error = accept)");
        g_free(error);
        if (tempfail) {
            smfi_setreply(ctx, "451", "4.3.0",
                          "mailtriage cannot record the message now, try again later");
            result = SMFIS_TEMPFAIL;
        }
    } else {
        GString *list = g_string_new(NULL);
        char from[LOG_ADDR_MAX];
        for (guint i = 0; i < ids->len; i++) {
            gint64 id = g_array_index(ids, gint64, i);
            const struct config_mailbox *mailbox = g_ptr_array_index(conn->msg->mailboxes, i);
            g_string_append_printf(list, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", id);
            log_msg(
                LOG_LEVEL_INFO, id,
                "recorded: mta_queue_id=%s client=%s from=<%s> mailbox=<%s> size=%" G_GUINT64_FORMAT
                "%s",
                queue_id, conn->client_addr != NULL ? conn->client_addr : "-",
                log_addr(conn->msg->envelope_from, from), mailbox->address, conn->msg->size,
                conn->msg->truncated ? " truncated" : "");
        }
        /* With SMFIP_HDR_LEADSPC agreed, values are passed with their leading space. */
        if (conn->protocol & SMFIP_HDR_LEADSPC)
            g_string_prepend_c(list, ' ');
        if (conn->cfg->daemon.add_header &&
            smfi_addheader(ctx, MILTER_HEADER_NAME, list->str) != MI_SUCCESS)
            log_warn("%s: the MTA refused the %s header", queue_id, MILTER_HEADER_NAME);
        g_string_free(list, TRUE);
        if (milter.wake != NULL)
            milter.wake(milter.wake_data);
    }
    g_array_unref(ids);
    g_free(queue_id);
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

/* Close the idle connections and drop what milter_start() took. */
static void milter_release(void)
{
    g_mutex_lock(&milter.lock);
    for (guint i = 0; i < milter.idle_dbs->len; i++)
        db_close(g_ptr_array_index(milter.idle_dbs, i));
    g_ptr_array_unref(milter.idle_dbs);
    milter.idle_dbs = NULL;
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
    milter.idle_dbs = g_ptr_array_new();
    g_mutex_unlock(&milter.lock);

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
