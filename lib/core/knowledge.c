/*
 * knowledge: the index of a mailbox's documents, and the passages chosen for a message; see
 * knowledge.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "db.h"
#include "knowledge.h"
#include "knowledge_query.h"
#include "knowledge_split.h"
#include "log.h"
#include "store_knowledge.h"
#include "text.h"

/* The best matches looked at to fill max_knowledge_chars. */
#define KNOWLEDGE_SELECT_CANDIDATES 100
#define KNOWLEDGE_READ_CHUNK 65536

/* --- selection --- */

static void knowledge_source_free(struct knowledge_source *source)
{
    g_free(source->path);
    g_free(source->heading);
    g_free(source->text);
    g_free(source);
}

void knowledge_selection_free(struct knowledge_selection *sel)
{
    if (sel == NULL)
        return;
    g_ptr_array_unref(sel->sources);
    g_free(sel->query);
    g_free(sel);
}

/* PASSAGE as the next source; its strings move to the source. */
static void knowledge_select_add(struct knowledge_selection *sel,
                                 struct store_knowledge_passage *passage, gboolean scored)
{
    struct knowledge_source *source = g_new0(struct knowledge_source, 1);
    source->number = (int)sel->sources->len + 1;
    source->path = g_steal_pointer(&passage->path);
    source->heading = g_steal_pointer(&passage->heading);
    source->text = g_steal_pointer(&passage->text);
    source->scored = scored;
    source->score = passage->score;
    sel->chars += passage->chars;
    g_ptr_array_add(sel->sources, source);
}

/* The best MATCHES, in their order, that fit in max_chars; the first always, cut if need be. */
static void knowledge_select_best(struct knowledge_selection *sel, GPtrArray *matches)
{
    for (guint i = 0; i < matches->len; i++) {
        struct store_knowledge_passage *passage = g_ptr_array_index(matches, i);
        if (sel->chars + passage->chars <= sel->max_chars) {
            knowledge_select_add(sel, passage, TRUE);
        } else if (sel->sources->len == 0) {
            glong heading = g_utf8_strlen(passage->heading, -1);
            char *cut = text_cut(passage->text, (size_t)MAX((glong)sel->max_chars - heading, 1));
            g_free(passage->text);
            passage->text = cut;
            passage->chars = heading + g_utf8_strlen(cut, -1);
            sel->cut = TRUE;
            knowledge_select_add(sel, passage, TRUE);
        }
    }
}

static int knowledge_select_read(sqlite3 *db, const struct config_mailbox *mailbox,
                                 const char *text, struct knowledge_selection *sel, char **error_r)
{
    int status = store_knowledge_totals(db, mailbox->address, &sel->total_passages,
                                        &sel->total_chars, error_r);
    if (status != DB_OK || sel->total_passages == 0)
        return status;
    GPtrArray *passages = NULL;
    if (sel->total_chars <= sel->max_chars) {
        sel->whole = TRUE;
        status = store_knowledge_all(db, mailbox->address, &passages, error_r);
        for (guint i = 0; status == DB_OK && i < passages->len; i++)
            knowledge_select_add(sel, g_ptr_array_index(passages, i), FALSE);
    } else {
        sel->query = knowledge_query(text);
        if (*sel->query == '\0')
            return DB_OK;
        status = store_knowledge_match(db, mailbox->address, sel->query,
                                       KNOWLEDGE_SELECT_CANDIDATES, &passages, error_r);
        if (status == DB_OK)
            knowledge_select_best(sel, passages);
    }
    if (passages != NULL)
        g_ptr_array_unref(passages);
    return status;
}

int knowledge_select(sqlite3 *db, const struct config *cfg, const struct config_mailbox *mailbox,
                     const char *text, struct knowledge_selection **sel_r, char **error_r)
{
    struct knowledge_selection *sel = g_new0(struct knowledge_selection, 1);
    sel->sources = g_ptr_array_new_with_free_func((GDestroyNotify)knowledge_source_free);
    sel->max_chars = cfg->llm.max_knowledge_chars;
    /* Rows of a mailbox whose knowledge was just unconfigured wait for the next sync. */
    if (mailbox->knowledge == NULL || mailbox->knowledge[0] == NULL) {
        *sel_r = sel;
        return 0;
    }
    gboolean own_snapshot = sqlite3_get_autocommit(db) != 0;
    int status = own_snapshot ? db_begin_read(db, error_r) : DB_OK;
    if (status == DB_OK)
        status = knowledge_select_read(db, mailbox, text, sel, error_r);
    if (own_snapshot && status == DB_OK)
        status = db_commit(db, error_r);
    else if (own_snapshot)
        db_rollback(db);
    if (status != DB_OK) {
        knowledge_selection_free(sel);
        return -1;
    }
    *sel_r = sel;
    return 0;
}

/* --- reading a file --- */

/* PATH opened for reading, if it is a regular file; -1 with why not. */
static int knowledge_open(const char *path, int *fd_r, struct stat *st_r, char **reason_r)
{
    /* O_NONBLOCK: a FIFO in the knowledge directory must not hang the daemon. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        *reason_r = g_strdup(g_strerror(errno));
        return -1;
    }
    if (fstat(fd, st_r) < 0)
        *reason_r = g_strdup(g_strerror(errno));
    else if (!S_ISREG(st_r->st_mode))
        *reason_r =
            g_strdup(S_ISDIR(st_r->st_mode) ? "a directory, not a file" : "not a regular file");
    if (*reason_r != NULL) {
        close(fd);
        return -1;
    }
    *fd_r = fd;
    return 0;
}

/* Up to KNOWLEDGE_FILE_MAX bytes of FD, which it closes; *CUT_R when there was more. */
static int knowledge_read(int fd, GByteArray **data_r, gboolean *cut_r, char **reason_r)
{
    GByteArray *data = g_byte_array_new();
    guint8 chunk[KNOWLEDGE_READ_CHUNK];
    int result = 0;
    *cut_r = FALSE;
    for (;;) {
        size_t want = MIN(sizeof(chunk), KNOWLEDGE_FILE_MAX - data->len);
        ssize_t n = read(fd, chunk, want > 0 ? want : 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *reason_r = g_strdup(g_strerror(errno));
            result = -1;
            break;
        }
        if (n > 0 && want == 0) {
            *cut_r = TRUE;
            break;
        }
        if (n == 0)
            break;
        g_byte_array_append(data, chunk, (guint)n);
    }
    close(fd);
    if (result < 0)
        g_byte_array_unref(data);
    else
        *data_r = data;
    return result;
}

/* --- sync --- */

struct knowledge_syncer {
    sqlite3 *db;
    GPtrArray *rows;    /* of struct store_knowledge_file *: what the database had */
    GHashTable *by_key; /* "MAILBOX\nPATH" to its row of ROWS */
    GHashTable *kept;   /* the rows of ROWS still configured */
    struct knowledge_sync_report *report;
};

static void knowledge_change_free(struct knowledge_change *change)
{
    g_free(change->mailbox);
    g_free(change->path);
    g_free(change->reason);
    g_free(change);
}

void knowledge_sync_report_free(struct knowledge_sync_report *report)
{
    if (report == NULL)
        return;
    g_ptr_array_unref(report->changes);
    g_free(report);
}

static void knowledge_sync_record(struct knowledge_syncer *s, enum knowledge_change_kind kind,
                                  const struct store_knowledge_file *file, const char *reason)
{
    struct knowledge_change *change = g_new0(struct knowledge_change, 1);
    change->kind = kind;
    change->mailbox = g_strdup(file->mailbox);
    change->path = g_strdup(file->path);
    change->passages = file->passages;
    change->chars = file->chars;
    change->reason = g_strdup(reason);
    g_ptr_array_add(s->report->changes, change);
}

/* A mailbox cannot hold a line end (addr_is_safe()), so the key is unambiguous. */
static char *knowledge_key(const char *mailbox, const char *path)
{
    return g_strconcat(mailbox, "\n", path, NULL);
}

/* PATH could not be read, for REASON (taken): the row says so; its passages stay. */
static int knowledge_sync_failed(struct knowledge_syncer *s, struct store_knowledge_file *row,
                                 gint64 position, char *reason, char **error_r)
{
    gboolean same = row->id != 0 && row->error != NULL && strcmp(row->error, reason) == 0 &&
                    row->position == position;
    g_free(row->error);
    row->error = reason;
    row->position = position;
    s->report->failed++;
    knowledge_sync_record(s, KNOWLEDGE_CHANGE_FAILED, row, reason);
    return same || store_knowledge_save(s->db, row, error_r) == DB_OK ? 0 : -1;
}

/* What of a version indexed was left out or repaired, or NULL. */
static char *knowledge_sync_warning(gboolean cut, const char *repaired, guint passages)
{
    GString *warning = g_string_new(NULL);
    if (cut)
        g_string_append_printf(warning, "only the first %d bytes are indexed", KNOWLEDGE_FILE_MAX);
    if (repaired != NULL)
        g_string_append_printf(warning, "%s%s", warning->len > 0 ? "; " : "", repaired);
    if (passages == 0)
        g_string_append_printf(warning, "%sno text to index", warning->len > 0 ? "; " : "");
    return g_string_free(warning, warning->len == 0);
}

/* The version of a file that was read. */
struct knowledge_version {
    GByteArray *data;
    gboolean cut; /* there was more than KNOWLEDGE_FILE_MAX */
    gint64 size;
    gint64 mtime_ns;
};

/* A new version of ROW, whose sha256 is HASH (taken): split, stored in one transaction. */
static int knowledge_sync_index(struct knowledge_syncer *s, struct store_knowledge_file *row,
                                const struct knowledge_version *version, char *hash, char **error_r)
{
    char *text = NULL, *repaired = NULL, *reason = NULL;
    if (knowledge_split_clean((const char *)version->data->data, version->data->len, &text,
                              &repaired, &reason) < 0) {
        g_free(hash);
        return knowledge_sync_failed(s, row, row->position, reason, error_r);
    }
    GPtrArray *passages = knowledge_split(text, knowledge_split_format(row->path));
    g_free(text);
    row->size = version->size;
    row->mtime_ns = version->mtime_ns;
    g_free(row->sha256);
    row->sha256 = hash;
    row->passages = passages->len;
    row->chars = 0;
    for (guint i = 0; i < passages->len; i++)
        row->chars += knowledge_passage_chars(g_ptr_array_index(passages, i));
    row->indexed_at = clock_now();
    g_free(row->warning);
    row->warning = knowledge_sync_warning(version->cut, repaired, passages->len);
    g_clear_pointer(&row->error, g_free);
    g_free(repaired);
    int status = store_knowledge_replace(s->db, row, passages, error_r);
    g_ptr_array_unref(passages);
    if (status != DB_OK)
        return -1;
    s->report->indexed++;
    knowledge_sync_record(s, KNOWLEDGE_CHANGE_INDEXED, row, row->warning);
    return 0;
}

/* ROW against its file, at POSITION in its mailbox's list: re-indexed when it changed. */
static int knowledge_sync_row(struct knowledge_syncer *s, struct store_knowledge_file *row,
                              gint64 position, char **error_r)
{
    int fd = -1;
    struct stat st;
    char *reason = NULL;
    s->report->files++;
    if (knowledge_open(row->path, &fd, &st, &reason) < 0)
        return knowledge_sync_failed(s, row, position, reason, error_r);
    struct knowledge_version version = {
        .size = (gint64)st.st_size,
        .mtime_ns = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st.st_mtim.tv_nsec,
    };
    gboolean moved = row->position != position;
    row->position = position;
    if (row->sha256 != NULL && row->error == NULL && row->size == version.size &&
        row->mtime_ns == version.mtime_ns) {
        close(fd);
        s->report->unchanged++;
        return !moved || store_knowledge_save(s->db, row, error_r) == DB_OK ? 0 : -1;
    }
    if (knowledge_read(fd, &version.data, &version.cut, &reason) < 0)
        return knowledge_sync_failed(s, row, position, reason, error_r);
    char *hash =
        g_compute_checksum_for_data(G_CHECKSUM_SHA256, version.data->data, version.data->len);
    int result;
    if (row->sha256 != NULL && strcmp(row->sha256, hash) == 0) {
        /* Touched, or back after a failure: the passages are those of this content. */
        g_free(hash);
        row->size = version.size;
        row->mtime_ns = version.mtime_ns;
        g_clear_pointer(&row->error, g_free);
        s->report->unchanged++;
        result = store_knowledge_save(s->db, row, error_r) == DB_OK ? 0 : -1;
    } else
        result = knowledge_sync_index(s, row, &version, hash, error_r);
    g_byte_array_unref(version.data);
    return result;
}

/* The file PATH of MAILBOX, at POSITION in its list. */
static int knowledge_sync_file(struct knowledge_syncer *s, const char *mailbox, const char *path,
                               gint64 position, char **error_r)
{
    char *key = knowledge_key(mailbox, path);
    struct store_knowledge_file *row = g_hash_table_lookup(s->by_key, key);
    g_free(key);
    if (row != NULL) {
        g_hash_table_add(s->kept, row);
        return knowledge_sync_row(s, row, position, error_r);
    }
    struct store_knowledge_file *fresh = g_new0(struct store_knowledge_file, 1);
    fresh->mailbox = g_strdup(mailbox);
    fresh->path = g_strdup(path);
    int result = knowledge_sync_row(s, fresh, position, error_r);
    store_knowledge_file_free(fresh);
    return result;
}

static gboolean knowledge_listed_name(const char *name)
{
    if (name[0] == '.')
        return FALSE;
    char *lower = g_ascii_strdown(name, -1);
    gboolean listed = g_str_has_suffix(lower, ".md") || g_str_has_suffix(lower, ".markdown") ||
                      g_str_has_suffix(lower, ".txt");
    g_free(lower);
    return listed;
}

static void knowledge_add_path(GPtrArray *paths, GHashTable *listed, char *path)
{
    if (g_hash_table_contains(listed, path)) {
        g_free(path);
        return;
    }
    g_ptr_array_add(paths, path);
    g_hash_table_add(listed, path);
}

static int knowledge_compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The files of directory DIR, in name order, into PATHS. */
static void knowledge_expand_dir(GDir *dir, const char *entry, GPtrArray *paths, GHashTable *listed)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL)
        if (knowledge_listed_name(name))
            g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, knowledge_compare_names);
    for (guint i = 0; i < names->len; i++) {
        char *path = g_build_filename(entry, g_ptr_array_index(names, i), NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            g_free(path);
        else
            knowledge_add_path(paths, listed, path);
    }
    g_ptr_array_unref(names);
}

/* ENTRY of MAILBOX's knowledge: a directory's files, or ENTRY itself. A directory that cannot be
 * listed now (gone, unreadable) stands for the files it had, which keep their passages. */
static void knowledge_expand(struct knowledge_syncer *s, const char *mailbox, const char *entry,
                             GPtrArray *paths, GHashTable *listed)
{
    GError *gerror = NULL;
    GDir *dir = g_dir_open(entry, 0, &gerror);
    if (dir != NULL) {
        knowledge_expand_dir(dir, entry, paths, listed);
        g_dir_close(dir);
        return;
    }
    gboolean file = g_error_matches(gerror, G_FILE_ERROR, G_FILE_ERROR_NOTDIR);
    g_error_free(gerror);
    guint before = paths->len;
    char *clean = g_build_filename(entry, NULL);
    for (guint i = 0; !file && i < s->rows->len; i++) {
        const struct store_knowledge_file *row = g_ptr_array_index(s->rows, i);
        char *parent = g_path_get_dirname(row->path);
        if (strcmp(row->mailbox, mailbox) == 0 && strcmp(parent, clean) == 0)
            knowledge_add_path(paths, listed, g_strdup(row->path));
        g_free(parent);
    }
    g_free(clean);
    if (paths->len == before)
        knowledge_add_path(paths, listed, g_strdup(entry));
}

static int knowledge_sync_mailbox(struct knowledge_syncer *s, const struct config_mailbox *mailbox,
                                  char **error_r)
{
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    GHashTable *listed = g_hash_table_new(g_str_hash, g_str_equal);
    for (char **entry = mailbox->knowledge; entry != NULL && *entry != NULL; entry++)
        knowledge_expand(s, mailbox->address, *entry, paths, listed);
    int result = 0;
    for (guint i = 0; i < paths->len && result == 0; i++)
        result = knowledge_sync_file(s, mailbox->address, g_ptr_array_index(paths, i), i, error_r);
    g_hash_table_unref(listed);
    g_ptr_array_unref(paths);
    return result;
}

/* The rows of files no longer configured, and their passages. */
static int knowledge_sync_remove(struct knowledge_syncer *s, char **error_r)
{
    for (guint i = 0; i < s->rows->len; i++) {
        struct store_knowledge_file *row = g_ptr_array_index(s->rows, i);
        if (g_hash_table_contains(s->kept, row))
            continue;
        if (store_knowledge_remove(s->db, row->id, error_r) != DB_OK)
            return -1;
        s->report->removed++;
        knowledge_sync_record(s, KNOWLEDGE_CHANGE_REMOVED, row, NULL);
    }
    return 0;
}

int knowledge_sync(sqlite3 *db, const struct config *cfg, struct knowledge_sync_report **report_r,
                   char **error_r)
{
    struct knowledge_syncer s = {.db = db};
    if (store_knowledge_files(db, NULL, &s.rows, error_r) != DB_OK)
        return -1;
    s.by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < s.rows->len; i++) {
        struct store_knowledge_file *row = g_ptr_array_index(s.rows, i);
        g_hash_table_insert(s.by_key, knowledge_key(row->mailbox, row->path), row);
    }
    s.kept = g_hash_table_new(g_direct_hash, g_direct_equal);
    s.report = g_new0(struct knowledge_sync_report, 1);
    s.report->changes = g_ptr_array_new_with_free_func((GDestroyNotify)knowledge_change_free);
    int result = 0;
    for (guint i = 0; i < cfg->mailboxes->len && result == 0; i++)
        result = knowledge_sync_mailbox(&s, g_ptr_array_index(cfg->mailboxes, i), error_r);
    if (result == 0)
        result = knowledge_sync_remove(&s, error_r);
    g_hash_table_unref(s.kept);
    g_hash_table_unref(s.by_key);
    g_ptr_array_unref(s.rows);
    if (result < 0) {
        knowledge_sync_report_free(s.report);
        return -1;
    }
    *report_r = s.report;
    return 0;
}

char *knowledge_change_describe(const struct knowledge_change *change)
{
    char *path = text_make_valid_line(change->path, -1);
    char *line = NULL;
    switch (change->kind) {
    case KNOWLEDGE_CHANGE_INDEXED:
        line = g_strdup_printf(
            "%s %s: indexed, %" G_GINT64_FORMAT " passages, %" G_GINT64_FORMAT " characters%s%s",
            change->mailbox, path, change->passages, change->chars,
            change->reason != NULL ? "; " : "", change->reason != NULL ? change->reason : "");
        break;
    case KNOWLEDGE_CHANGE_FAILED:
        if (change->passages > 0)
            line = g_strdup_printf("%s %s: cannot be read: %s; %" G_GINT64_FORMAT
                                   " passages of its last version stay",
                                   change->mailbox, path, change->reason, change->passages);
        else
            line =
                g_strdup_printf("%s %s: cannot be read: %s", change->mailbox, path, change->reason);
        break;
    case KNOWLEDGE_CHANGE_REMOVED:
        line = g_strdup_printf("%s %s: no longer configured; its %" G_GINT64_FORMAT
                               " passages are removed",
                               change->mailbox, path, change->passages);
        break;
    }
    g_free(path);
    return line;
}

char *knowledge_sync_summarize(const struct knowledge_sync_report *report)
{
    return g_strdup_printf("knowledge: %u file(s): %u indexed, %u unchanged, %u unreadable, %u "
                           "removed",
                           report->files, report->indexed, report->unchanged, report->failed,
                           report->removed);
}

void knowledge_refresh(const struct config *cfg)
{
    sqlite3 *db = NULL;
    char *error = NULL;
    struct knowledge_sync_report *report = NULL;
    if (db_open_existing(cfg->daemon.database, (int)cfg->daemon.busy_timeout * 1000, DB_READ_WRITE,
                         &db, &error) != DB_OK ||
        knowledge_sync(db, cfg, &report, &error) < 0) {
        log_warn("knowledge: the index stays as it was: %s", error);
        g_free(error);
        if (db != NULL)
            db_close(db);
        return;
    }
    db_close(db);
    for (guint i = 0; i < report->changes->len; i++) {
        const struct knowledge_change *change = g_ptr_array_index(report->changes, i);
        char *line = knowledge_change_describe(change);
        if (change->kind == KNOWLEDGE_CHANGE_FAILED)
            log_warn("%s", line);
        else
            log_info("%s", line);
        g_free(line);
    }
    if (report->files > 0 || report->changes->len > 0) {
        char *summary = knowledge_sync_summarize(report);
        log_info("%s", summary);
        g_free(summary);
    }
    knowledge_sync_report_free(report);
}
