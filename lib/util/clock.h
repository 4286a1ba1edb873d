/*
 * clock: what time it is, in the forms mailtriage stores and shows.
 *
 * clock_now() is the Unix time in seconds that rows and decisions carry; clock_now_us() the
 * same in microseconds, for durations measured against a stored time. clock_now_local() is a
 * GDateTime for a Date header; clock_format_local() and clock_format_utc() format a Unix time
 * with g_date_time_format() directives. Unit tests may fix the time with clock_set_for_tests();
 * every other caller sees the system's real time. All of it is safe from any thread.
 */
#ifndef MAILTRIAGE_CLOCK_H
#define MAILTRIAGE_CLOCK_H

#include <glib.h>

gint64 clock_now(void);
gint64 clock_now_us(void);
/* Now in the local time zone, to the second; g_date_time_unref() it. */
GDateTime *clock_now_local(void);
/* SECONDS (Unix time) formatted as FORMAT says, in local time or UTC; NULL when SECONDS is out
 * of the range GDateTime knows. */
char *clock_format_local(gint64 seconds, const char *format);
char *clock_format_utc(gint64 seconds, const char *format);

/* From now on the clock says UNIX_US (microseconds since 1970), or the real time again when
 * UNIX_US is 0. For unit tests only. */
void clock_set_for_tests(gint64 unix_us);

#endif
