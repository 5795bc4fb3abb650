package meterstream.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The aggregate benchmark's streaming peer: the hourly roll-up of the clean topic as a Kafka
 * Streams application would do it, with exactly-once v2.
 *
 * <p>Input: the clean topic, keyed by meter pseudonym, values CleanReadingBatch in Avro
 * single-object encoding (any version in the schema directory; read as the newest). Each batch
 * becomes one record per reading, stamped with the reading's time, on the same key (no
 * repartition: the clean topic is already partitioned by meter). A tumbling one-hour window per
 * key keeps count, sum, min and max per meter kind in a RocksDB window store (changelogged).
 * Output: one record per (meter, kind, hour) update, key {@code meter|KIND|hourStartMillis},
 * value 32 bytes: sum, min, max (doubles) and count (long), big-endian.
 *
 * <p>Configuration from the environment: BOOTSTRAP, INPUT, OUTPUT, APP_ID, STATE_DIR,
 * SCHEMA_DIR (schemas/avro), THREADS (default 1), GRACE_HOURS (default 168). Prints one line
 * {@code RUNNING} on stdout when the application first reaches RUNNING (its partitions assigned),
 * and runs until SIGTERM; then prints {@code STATS {json}}: readings decoded, records it
 * could not decode, and Kafka Streams' dropped-records-total (late or expired records).
 */
public final class HourlyRollupStreams {
  static final int KINDS = 6;
  static final java.util.concurrent.atomic.AtomicLong READINGS = new java.util.concurrent.atomic.AtomicLong();
  static final java.util.concurrent.atomic.AtomicLong UNREADABLE = new java.util.concurrent.atomic.AtomicLong();

  /** One reading on its way to the window: the ordinal of its meter kind and its value. */
  record Reading(int kind, double value) {}

  static final Serde<Reading> READING_SERDE =
      Serdes.serdeFrom(
          (Serializer<Reading>)
              (topic, r) -> ByteBuffer.allocate(9).put((byte) r.kind()).putDouble(r.value()).array(),
          (Deserializer<Reading>)
              (topic, b) -> {
                ByteBuffer buf = ByteBuffer.wrap(b);
                return new Reading(buf.get(), buf.getDouble());
              });

  /** Count, sum, min and max per meter kind of one meter-hour; kinds with no reading are absent. */
  static final class Stats {
    final long[] count = new long[KINDS];
    final double[] sum = new double[KINDS];
    final double[] min = new double[KINDS];
    final double[] max = new double[KINDS];

    Stats add(Reading r) {
      int k = r.kind();
      if (count[k] == 0) {
        min[k] = r.value();
        max[k] = r.value();
      } else {
        min[k] = Math.min(min[k], r.value());
        max[k] = Math.max(max[k], r.value());
      }
      count[k]++;
      sum[k] += r.value();
      return this;
    }
  }

  /** A bit mask of the kinds present, then 32 bytes per present kind. */
  static final Serde<Stats> STATS_SERDE =
      Serdes.serdeFrom(
          (Serializer<Stats>)
              (topic, s) -> {
                int mask = 0;
                int n = 0;
                for (int k = 0; k < KINDS; k++)
                  if (s.count[k] > 0) {
                    mask |= 1 << k;
                    n++;
                  }
                ByteBuffer buf = ByteBuffer.allocate(1 + 32 * n).put((byte) mask);
                for (int k = 0; k < KINDS; k++)
                  if (s.count[k] > 0)
                    buf.putLong(s.count[k]).putDouble(s.sum[k]).putDouble(s.min[k]).putDouble(s.max[k]);
                return buf.array();
              },
          (Deserializer<Stats>)
              (topic, b) -> {
                Stats s = new Stats();
                ByteBuffer buf = ByteBuffer.wrap(b);
                int mask = buf.get();
                for (int k = 0; k < KINDS; k++)
                  if ((mask & (1 << k)) != 0) {
                    s.count[k] = buf.getLong();
                    s.sum[k] = buf.getDouble();
                    s.min[k] = buf.getDouble();
                    s.max[k] = buf.getDouble();
                  }
                return s;
              });

  /** Decodes a clean batch and forwards its readings, each with its own timestamp. */
  static final class Flatten implements FixedKeyProcessor<String, byte[], Reading> {
    private final BinaryMessageDecoder<GenericRecord> decoder;
    private final Schema kinds;
    private FixedKeyProcessorContext<String, Reading> context;

    Flatten(List<Schema> versions) {
      decoder = new BinaryMessageDecoder<>(GenericData.get(), versions.get(versions.size() - 1));
      for (Schema s : versions) decoder.addSchema(s);
      kinds = versions.get(versions.size() - 1).getField("kind").schema();
    }

    @Override
    public void init(FixedKeyProcessorContext<String, Reading> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, byte[]> rec) {
      if (rec.value() == null) return;
      GenericRecord batch;
      try {
        batch = decoder.decode(rec.value());
      } catch (IOException | RuntimeException e) {
        UNREADABLE.incrementAndGet(); // not a clean batch this version reads (the aggregator's DLQ would take it)
        return;
      }
      int kind = kinds.getEnumOrdinal(batch.get("kind").toString());
      @SuppressWarnings("unchecked")
      List<GenericRecord> readings = (List<GenericRecord>) batch.get("readings");
      READINGS.addAndGet(readings.size());
      for (GenericRecord r : readings) {
        context.forward(
            rec.withValue(new Reading(kind, (Double) r.get("value"))).withTimestamp((Long) r.get("ts")));
      }
    }
  }

  static List<Schema> schemaVersions(Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "v*.avsc")) {
      ds.forEach(files::add);
    }
    files.sort((a, b) -> Integer.compare(version(a), version(b)));
    List<Schema> out = new ArrayList<>();
    for (Path f : files) out.add(new Schema.Parser().parse(Files.readString(f)));
    if (out.isEmpty()) throw new IOException("no schema in " + dir);
    return out;
  }

  private static int version(Path p) {
    String n = p.getFileName().toString();
    return Integer.parseInt(n.substring(1, n.length() - ".avsc".length()));
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      if (fallback == null) throw new IllegalArgumentException(name + " is not set");
      return fallback;
    }
    return v;
  }

  public static void main(String[] args) throws Exception {
    List<Schema> versions = schemaVersions(Path.of(env("SCHEMA_DIR", null), "CleanReadingBatch"));
    Schema kindSchema = versions.get(versions.size() - 1).getField("kind").schema();
    Duration grace = Duration.ofHours(Long.parseLong(env("GRACE_HOURS", "168")));

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(env("INPUT", null), Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .processValues(() -> new Flatten(versions))
        .groupByKey(Grouped.with(Serdes.String(), READING_SERDE))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofHours(1), grace))
        .aggregate(
            Stats::new,
            (meter, reading, stats) -> stats.add(reading),
            Materialized.<String, Stats, WindowStore<Bytes, byte[]>>as("hourly")
                .withKeySerde(Serdes.String())
                .withValueSerde(STATS_SERDE))
        .toStream()
        .flatMap(
            (w, s) -> {
              List<KeyValue<String, byte[]>> rows = new ArrayList<>(1);
              if (s == null) return rows;
              for (int k = 0; k < KINDS; k++) {
                if (s.count[k] == 0) continue;
                String key = w.key() + "|" + kindSchema.getEnumSymbols().get(k) + "|" + w.window().start();
                byte[] row =
                    ByteBuffer.allocate(32)
                        .putDouble(s.sum[k])
                        .putDouble(s.min[k])
                        .putDouble(s.max[k])
                        .putLong(s.count[k])
                        .array();
                rows.add(KeyValue.pair(key, row));
              }
              return rows;
            })
        .to(env("OUTPUT", null), Produced.with(Serdes.String(), Serdes.ByteArray()));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, env("APP_ID", null));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, env("BOOTSTRAP", null));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(env("THREADS", "1")));
    props.put(StreamsConfig.STATE_DIR_CONFIG, env("STATE_DIR", null));
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    AtomicBoolean announced = new AtomicBoolean();
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING && announced.compareAndSet(false, true)) {
            System.out.println("RUNNING");
            System.out.flush();
          }
          if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) stopped.countDown();
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          e.printStackTrace();
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
              .SHUTDOWN_CLIENT;
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  double dropped = 0;
                  for (var m : streams.metrics().values())
                    if (m.metricName().name().equals("dropped-records-total")
                        && m.metricValue() instanceof Double d) dropped += d;
                  streams.close(Duration.ofSeconds(20));
                  System.out.println(
                      "STATS {\"readings\":" + READINGS.get() + ",\"unreadable\":" + UNREADABLE.get()
                          + ",\"droppedRecords\":" + (long) dropped + "}");
                  System.out.flush();
                  stopped.countDown();
                }));
    streams.start();
    stopped.await();
    if (streams.state() == KafkaStreams.State.ERROR) System.exit(1);
  }
}
