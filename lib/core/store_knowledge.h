/*
 * store_knowledge: the knowledge base's tables (knowledge_files, knowledge_passages: see
 * sql/README.schema), for knowledge.h and mailtriagectl knowledge.
 *
 * A file's passages change only with its row, in one write transaction
 * (store_knowledge_replace()), so that a reader sees a file's old version or its new one, never
 * a mix; the other writes are one statement, or one transaction for a row and its passages.
 * Readers take whatever snapshot the caller holds. Passages come back with their file's path:
 * in document order (the mailbox's files in their configured order, each file's passages in
 * order) or by bm25 for an FTS5 query (knowledge_query.h), the text weighing 1, the heading 2.
 * Functions return DB_OK, DB_BUSY or DB_ERROR.
 */
#ifndef MAILTRIAGE_STORE_KNOWLEDGE_H
#define MAILTRIAGE_STORE_KNOWLEDGE_H

#include <glib.h>
#include <sqlite3.h>

/* A row of knowledge_files. The version indexed (size, mtime_ns, sha256, indexed_at) is unset
 * (sha256 NULL) while no version of the file could be read. */
struct store_knowledge_file {
    gint64 id; /* 0 until stored */
    char *mailbox;
    char *path;
    gint64 position;
    gint64 size;
    gint64 mtime_ns;
    char *sha256;
    gint64 passages;
    gint64 chars;
    gint64 indexed_at;
    char *warning; /* NULL when none */
    char *error;   /* NULL when the last check read the file */
};
void store_knowledge_file_free(struct store_knowledge_file *file);

/* A passage as it is read back. */
struct store_knowledge_passage {
    char *path;    /* of its file */
    char *heading; /* "" when none */
    char *text;
    gint64 chars;
    double score; /* bm25 made positive: higher is better; 0 in document order */
};
void store_knowledge_passage_free(struct store_knowledge_passage *passage);

/* The files of MAILBOX (NULL: of every mailbox), by mailbox and position, as a new array of
 * struct store_knowledge_file * in *FILES_R. */
int store_knowledge_files(sqlite3 *db, const char *mailbox, GPtrArray **files_r,
                          char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* FILE's new version with PASSAGES (of struct knowledge_passage *, knowledge_split.h): in one
 * write transaction its old passages go, the new ones come, and its row is written (inserted
 * when FILE->id is 0, which is then set). */
int store_knowledge_replace(sqlite3 *db, struct store_knowledge_file *file,
                            const GPtrArray *passages, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* FILE's row as it is (inserted when FILE->id is 0, which is then set), its passages untouched:
 * a file found unchanged, or one that could not be read. */
int store_knowledge_save(sqlite3 *db, struct store_knowledge_file *file,
                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The file of row ID and its passages, in one write transaction. */
int store_knowledge_remove(sqlite3 *db, gint64 id, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* How many passages MAILBOX has, and their characters (heading and text). */
int store_knowledge_totals(sqlite3 *db, const char *mailbox, gint64 *passages_r, gint64 *chars_r,
                           char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Every passage of MAILBOX in document order, as a new array of
 * struct store_knowledge_passage * in *PASSAGES_R. */
int store_knowledge_all(sqlite3 *db, const char *mailbox, GPtrArray **passages_r,
                        char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The passages of MAILBOX that match the FTS5 QUERY, best first, at most LIMIT, likewise. */
int store_knowledge_match(sqlite3 *db, const char *mailbox, const char *query, int limit,
                          GPtrArray **passages_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
