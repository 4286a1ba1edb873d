/*
 * llm_load: the ceiling of an LLM endpoint (the fake server) at a given concurrency, for
 * `make bench` (tests/bench/README).
 *
 *   llm_load URL BODY_FILE CONCURRENCY SECONDS
 *
 * CONCURRENCY threads, each with its own kept-alive libcurl connection (as the daemon's
 * workers have), POST the JSON in BODY_FILE to URL back to back for SECONDS. Prints one line,
 * "requests=N errors=E seconds=S rate=R" (R: answered requests per second, HTTP 200 only),
 * and exits 0, or 1 when no request was answered. What mailtriaged reaches against the same
 * server can be no higher than this.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define LOAD_MAX_THREADS 1024
#define LOAD_MAX_BODY (4L * 1024 * 1024)

struct load_shared {
    const char *url;
    const char *body;
    long body_len;
    double deadline;
};

struct load_thread {
    pthread_t thread;
    const struct load_shared *shared;
    long requests, errors;
};

static double load_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static size_t load_discard(char *data, size_t size, size_t count, void *user)
{
    (void)data;
    (void)user;
    return size * count;
}

static void *load_run(void *arg)
{
    struct load_thread *self = arg;
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        self->errors++;
        return NULL;
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, self->shared->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, self->shared->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, self->shared->body_len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, load_discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    while (load_now() < self->shared->deadline) {
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
            self->requests++;
        else
            self->errors++;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

static char *load_read(const char *path, long *len_r)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *body = malloc(LOAD_MAX_BODY + 1);
    size_t len = body != NULL ? fread(body, 1, LOAD_MAX_BODY + 1, f) : 0;
    fclose(f);
    if (body == NULL || len == 0 || len > (size_t)LOAD_MAX_BODY) {
        free(body);
        return NULL;
    }
    body[len] = '\0';
    *len_r = (long)len;
    return body;
}

int main(int argc, char **argv)
{
    int threads = argc == 5 ? atoi(argv[3]) : 0;
    double seconds = argc == 5 ? atof(argv[4]) : 0;
    if (threads < 1 || threads > LOAD_MAX_THREADS || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "usage: llm_load URL BODY_FILE CONCURRENCY(1-%d) SECONDS\n",
                LOAD_MAX_THREADS);
        return 64;
    }
    struct load_shared shared = {.url = argv[1]};
    char *body = load_read(argv[2], &shared.body_len);
    if (body == NULL) {
        fprintf(stderr, "llm_load: cannot read %s (empty or over 4 MiB?)\n", argv[2]);
        return 1;
    }
    shared.body = body;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct load_thread *pool = calloc((size_t)threads, sizeof(*pool));
    double start = load_now();
    shared.deadline = start + seconds;
    int started = 0;
    for (; pool != NULL && started < threads; started++) {
        pool[started].shared = &shared;
        if (pthread_create(&pool[started].thread, NULL, load_run, &pool[started]) != 0)
            break;
    }
    long requests = 0, errors = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(pool[i].thread, NULL);
        requests += pool[i].requests;
        errors += pool[i].errors;
    }
    double elapsed = load_now() - start;
    printf("requests=%ld errors=%ld seconds=%.3f rate=%.1f\n", requests, errors, elapsed,
           (double)requests / elapsed);
    free(pool);
    free(body);
    curl_global_cleanup();
    return requests > 0 && started == threads ? 0 : 1;
}
