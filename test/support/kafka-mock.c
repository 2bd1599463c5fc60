/*
 * A librdkafka mock cluster as a process: a real Kafka-protocol broker set on
 * loopback for tests (no JVM, no ZooKeeper). Prints the bootstrap servers on
 * its first stdout line, then serves one command per stdin line and answers
 * "ok" or "error <reason>":
 *   topic <name> <partitions>   create a topic
 *   down <brokerId> / up <brokerId>   take a broker's listener down or up
 *   produce-errors <code> [<code> ...]   answer the next Produce requests, in
 *       order, with these Kafka error codes (0 = handle normally), e.g.
 *       10 = MESSAGE_TOO_LARGE: the mock has no per-topic size limit to set
 * Exits when stdin closes or on SIGTERM.
 *
 * usage: kafka-mock <brokers> [topic:partitions ...]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void reply(rd_kafka_resp_err_t err) {
  if (err) printf("error %s\n", rd_kafka_err2str(err));
  else printf("ok\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  char errstr[512];
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: fgets must return on SIGTERM */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
  if (!mc) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    char name[256];
    int partitions = 1;
    if (sscanf(argv[i], "%255[^:]:%d", name, &partitions) < 1) continue;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, partitions, 1);
    if (err) {
      fprintf(stderr, "topic %s: %s\n", name, rd_kafka_err2str(err));
      return 1;
    }
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[512];
  while (!stop && fgets(line, sizeof line, stdin)) {
    char name[256];
    int n;
    if (sscanf(line, "topic %255s %d", name, &n) == 2) reply(rd_kafka_mock_topic_create(mc, name, n, 1));
    else if (sscanf(line, "down %d", &n) == 1) reply(rd_kafka_mock_broker_set_down(mc, n));
    else if (sscanf(line, "up %d", &n) == 1) reply(rd_kafka_mock_broker_set_up(mc, n));
    else if (strncmp(line, "produce-errors ", 15) == 0) {
      rd_kafka_resp_err_t errs[64];
      size_t cnt = 0;
      char *end, *p = line + 15;
      for (long code = strtol(p, &end, 10); end != p && cnt < 64; code = strtol(p, &end, 10)) {
        errs[cnt++] = (rd_kafka_resp_err_t)code;
        p = end;
      }
      rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */, cnt, errs);
      reply(RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    else {
      printf("error unknown command\n");
      fflush(stdout);
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
