/*
 * knowledge: a mailbox's own documents ([mailbox] knowledge), indexed, and chosen for a message.
 *
 * knowledge_sync() brings the index in the database up to date with the configuration: every
 * file a mailbox names, and every *.md, *.markdown and *.txt file (not hidden) of a directory it
 * names, in name order, is split into passages (knowledge_split.h) and stored with FTS5; a file
 * whose size, modification time or content hash changed is re-indexed, each file in a write
 * transaction of its own; the rows of files no longer configured go. A file that cannot be read
 * (missing, unreadable, not a regular file, binary) keeps the passages of its last good version
 * and records why, so that a transient failure never empties the knowledge base. Files are read
 * up to KNOWLEDGE_FILE_MAX bytes; the rest is left out and said in the file's warning.
 *
 * knowledge_select() chooses what the model is given for one message. When the mailbox's whole
 * knowledge (headings and text of all its passages) is at most [llm] max_knowledge_chars, all of
 * it goes, in document order: retrieval across languages is unreliable, and a small knowledge
 * base goes whole. Otherwise the passages that best match TEXT (bm25 over the words of
 * knowledge_query.h) go, best first, as many as fit in max_knowledge_chars, and at least the best
 * one, cut to fit when it alone is longer. TEXT is what the caller wants answered: the new
 * message's text, and maybe its thread's.
 *
 * The prompt builder's contract: put the sources into the prompt as numbered sources, in the
 * order of the selection, each with its number, heading and file name, e.g. "[2] Prices > Pro
 * plan (prices.md)" and its text; tell the model to answer only from them, and that an answer
 * may cite only those numbers ([2]); with no source, the model has no knowledge to answer from.
 * The sources are the site's own text, not the sender's, but are still data, not instructions.
 * knowledge_select() only reads, in one snapshot (a read transaction unless the caller holds
 * one), so a read-only connection serves.
 */
#ifndef MAILTRIAGE_KNOWLEDGE_H
#define MAILTRIAGE_KNOWLEDGE_H

#include <glib.h>
#include <sqlite3.h>

#include "config.h"

/* The most bytes of one file that are indexed. */
#define KNOWLEDGE_FILE_MAX (2 * 1024 * 1024)

/* One source given to the model. */
struct knowledge_source {
    int number;    /* 1..n, its place in the selection */
    char *path;    /* of the file it comes from */
    char *heading; /* its heading path, "" when none */
    char *text;
    gboolean scored;
    double score; /* relevance to the text (bm25, higher is better) when scored */
};

struct knowledge_selection {
    GPtrArray *sources;    /* of struct knowledge_source *, numbered from 1 */
    gboolean whole;        /* the whole knowledge base, in document order (no scores) */
    gint64 total_passages; /* of the mailbox's whole knowledge */
    gint64 total_chars;
    gint64 chars;    /* of the sources: headings and text */
    guint max_chars; /* [llm] max_knowledge_chars */
    gboolean cut;    /* the one source was cut to fit max_chars */
    char *query;     /* the FTS5 query used; NULL when whole or none */
};

/* The sources for TEXT (NULL counts as "") from MAILBOX's knowledge into *SEL_R (none when it has
 * no knowledge, or nothing matches); 0, or -1 with *ERROR_R when the database fails. */
int knowledge_select(sqlite3 *db, const struct config *cfg, const struct config_mailbox *mailbox,
                     const char *text, struct knowledge_selection **sel_r,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;
void knowledge_selection_free(struct knowledge_selection *sel);

enum knowledge_change_kind {
    KNOWLEDGE_CHANGE_INDEXED, /* a new file, or a new version of one */
    KNOWLEDGE_CHANGE_FAILED,  /* could not be read: its old passages stay */
    KNOWLEDGE_CHANGE_REMOVED  /* no longer configured: its passages went */
};

struct knowledge_change {
    enum knowledge_change_kind kind;
    char *mailbox;
    char *path;
    gint64 passages; /* INDEXED: its passages now, FAILED: those it keeps */
    gint64 chars;
    char *reason; /* FAILED: why; INDEXED: a warning, or NULL */
};

struct knowledge_sync_report {
    GPtrArray *changes; /* of struct knowledge_change *, in the order they happened */
    guint files;        /* configured files looked at */
    guint indexed, unchanged, failed, removed;
};

/* Bring the index of every mailbox of CFG up to date (see above) and say what changed in
 * *REPORT_R; 0, or -1 with *ERROR_R when the database fails (the files done so far stay done). A
 * file that cannot be read is a change, not a failure. */
int knowledge_sync(sqlite3 *db, const struct config *cfg, struct knowledge_sync_report **report_r,
                   char **error_r) G_GNUC_WARN_UNUSED_RESULT;
void knowledge_sync_report_free(struct knowledge_sync_report *report);
/* CHANGE on one line: "support@site.test /srv/kb/faq.md: indexed, 12 passages, 3400 characters". */
char *knowledge_change_describe(const struct knowledge_change *change);
/* REPORT on one line: "knowledge: 3 file(s): 1 indexed, 2 unchanged, 0 unreadable, 0 removed". */
char *knowledge_sync_summarize(const struct knowledge_sync_report *report);

/* For the daemon, at start and reload: knowledge_sync() on a connection of its own to CFG's
 * database, logging a line per change and the summary (nothing when no mailbox has knowledge and
 * none had). A failure is logged as a warning: the index stays as it was. */
void knowledge_refresh(const struct config *cfg);

#endif
