/*
 * milter: mailtriaged's libmilter front door.
 *
 * milter_start() binds the configured socket (a stale unix socket is removed; a new one gets
 * socket_mode and socket_group) and registers the callbacks with the protocol negotiated so
 * that the MTA sends only what we use. For each message it hands intake (intake.h) the
 * envelope (client, HELO, sender, each recipient, the MTA queue id from macro i), the
 * Message-ID, the headers and the body as they come; intake keeps the mailboxes it records
 * (not those with intake = pipe) and what max_message_size allows (body chunks are skipped once
 * the message is truncated). A message with no such mailbox is accepted at DATA and costs
 * nothing more. At end of message the recorder (recorder.h) writes its rows, committed with
 * those of the other sessions ending at the same moment, and the message is accepted; the
 * "recorded:" line gives the time that took (store_ms). When that fails, on_error decides: accept
 * (logged with the queue id) or 451. No LLM, sendmail or DNS is ever used inside a callback.
 * milter_run() serves until libmilter is told to stop (SIGTERM, SIGINT, SIGHUP); WAKE is
 * called after each recorded message.
 */
#ifndef MAILTRIAGE_MILTER_H
#define MAILTRIAGE_MILTER_H

#include "config.h"

/* 0, or -1 with the reason in *ERROR_R. Call before dropping privileges. */
int milter_start(struct config *cfg, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Serve; returns when the milter stops. 0 on a clean stop. */
int milter_run(void (*wake)(void *), void *wake_data);
/* Later messages use CFG (a reload). */
void milter_set_config(struct config *cfg);

#endif
