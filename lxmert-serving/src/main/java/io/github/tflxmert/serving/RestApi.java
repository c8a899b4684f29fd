package io.github.tflxmert.serving;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.github.tflxmert.array.FloatArray;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TF Serving's REST API on the JDK's HTTP server:
 * <ul>
 *   <li>{@code GET /v1/models/{name}[/versions/{v}]}: {@code {"model_version_status": [...]}}</li>
 *   <li>{@code /v1/models/{name}/labels/{label}...}: wherever {@code /versions/{v}} is taken, the version that
 *       label names (404 for a label not configured)</li>
 *   <li>{@code GET /v1/models/{name}[/versions/{v}]/metadata}: {@code {"model_spec", "metadata":
 *       {"signature_def": ...}}}</li>
 *   <li>{@code POST /v1/models/{name}[/versions/{v}]:predict}: row format {@code {"instances": [...]}} answered
 *       {@code {"predictions": [...]}} (one value per row, an object per row when the signature has several
 *       outputs), or columnar {@code {"inputs": {...}}} answered {@code {"outputs": ...}}; optional
 *       {@code "signature_name"}</li>
 *   <li>{@code POST /v1/models/{name}[/versions/{v}]:answer}: text in, answers out ({@link Answerer})</li>
 *   <li>{@code GET /monitoring/prometheus/metrics}: {@link Metrics#scrape()}</li>
 * </ul>
 * Errors are {@code {"error": "..."}} with TF Serving's HTTP codes (400, 404, 413 for a body over the limit,
 * 429 queue full, 503 not ready). Thread-safe; owns its HTTP server and executor ({@link #close()}).
 */
public final class RestApi implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RestApi.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PATH = Pattern.compile(
      "/v1/models/([^/:]+)(?:/versions/([^/:]+)|/labels/([^/:]+))?(/metadata|:predict|:answer)?/?");

  private final PredictionCore core;
  private final Metrics metrics;
  private final long maxBodyBytes;
  private final HttpServer server;
  private final ExecutorService executor;
  private final Answerer answerer;
  private final Object inFlightLock = new Object();
  private int inFlight; // guarded by inFlightLock
  private volatile boolean draining;

  public RestApi(PredictionCore core, Metrics metrics, String host, int port, int threads, long maxBodyBytes)
      throws IOException {
    this.core = core;
    this.metrics = metrics;
    this.maxBodyBytes = maxBodyBytes;
    this.answerer = new Answerer(core.models());
    this.server = HttpServer.create(new InetSocketAddress(host, port), 128);
    this.executor = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "rest");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** The port bound (useful with port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  private record Answer(int status, String body, String contentType, String version) {
    Answer(int status, String body, String contentType) {
      this(status, body, contentType, "");
    }

    static Answer json(int status, Object node) {
      return json(status, node, "");
    }

    /** A JSON answer counted in the metrics under {@code version}. */
    static Answer json(int status, Object node, String version) {
      try {
        return new Answer(status, node instanceof String s ? s : JSON.writeValueAsString(node), "application/json",
            version);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    synchronized (inFlightLock) {
      inFlight++; // before the draining check: close() then waits for this exchange if it got past the check
    }
    boolean counted = true;
    try {
      if (draining) {
        synchronized (inFlightLock) { // a refusal is not a request in flight: a client retrying cannot hold the drain
          inFlight--;
          inFlightLock.notifyAll();
        }
        counted = false;
        refuse(ex);
        return;
      }
      handleCounted(ex);
    } finally {
      if (counted) {
        synchronized (inFlightLock) {
          inFlight--;
          inFlightLock.notifyAll();
        }
      }
    }
  }

  private void refuse(HttpExchange ex) throws IOException {
    byte[] body = error(503, "server is shutting down").body().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.getResponseHeaders().set("Connection", "close");
    ex.sendResponseHeaders(503, body.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(body);
    }
  }

  private void handleCounted(HttpExchange ex) throws IOException {
    long t0 = System.nanoTime();
    String model = "";
    String api = "rest";
    Answer a;
    try {
      String path = ex.getRequestURI().getPath();
      String method = ex.getRequestMethod();
      if (path.equals("/monitoring/prometheus/metrics")) {
        api = "metrics";
        a = new Answer(200, metrics.scrape(), "text/plain; version=0.0.4");
      } else {
        Matcher m = PATH.matcher(path);
        if (!m.matches()) {
          throw ServingException.notFound("path " + path + ": expected /v1/models/{name}[/versions/{v}|/labels/{label}]"
              + "[:predict|/metadata] or /monitoring/prometheus/metrics");
        }
        model = m.group(1);
        OptionalLong version = m.group(3) != null
            ? OptionalLong.of(core.models().get(model).versionForLabel(m.group(3))) : parseVersion(m.group(2));
        String what = m.group(4);
        if (":answer".equals(what)) {
          api = "answer";
          requireMethod(method, "POST", path);
          ObjectNode res = answerer.answer(model, version, parse(readBody(ex)));
          a = Answer.json(200, res, res.path("version").asText(""));   // counted under the version that answered
        } else if (":predict".equals(what)) {
          api = "predict";
          requireMethod(method, "POST", path);
          a = predict(model, version, readBody(ex));
        } else if ("/metadata".equals(what)) {
          api = "metadata";
          requireMethod(method, "GET", path);
          a = metadata(model, version);
        } else {
          api = "status";
          requireMethod(method, "GET", path);
          a = status(model, version);
        }
      }
    } catch (ServingException e) {
      a = error(e.code().http, e.getMessage());
    } catch (BodyTooLarge e) {
      a = error(413, e.getMessage());
    } catch (RuntimeException e) {
      LOG.warn("REST request failed", e);
      a = error(500, String.valueOf(e.getMessage()));
    }
    byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", a.contentType());
    ex.sendResponseHeaders(a.status(), body.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(body);
    }
    if (!api.equals("metrics")) {
      metrics.request(model, a.version(), api, "rest", Integer.toString(a.status()), System.nanoTime() - t0);
    }
  }

  private static Answer error(int status, String message) {
    ObjectNode n = JSON.createObjectNode();
    n.put("error", message);
    return Answer.json(status, n);
  }

  private static void requireMethod(String found, String expected, String path) {
    if (!found.equalsIgnoreCase(expected)) {
      throw ServingException.invalid(path + ": expected HTTP " + expected + ", found " + found);
    }
  }

  private static OptionalLong parseVersion(String v) {
    if (v == null) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(v));
    } catch (NumberFormatException e) {
      throw ServingException.invalid("version: expected an integer in the path, found '" + v + "'");
    }
  }

  private static final class BodyTooLarge extends RuntimeException {
    BodyTooLarge(String m) {
      super(m);
    }
  }

  private byte[] readBody(HttpExchange ex) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[65536];
    try (InputStream in = ex.getRequestBody()) {
      for (int n; (n = in.read(buf)) > 0; ) {
        out.write(buf, 0, n);
        if (out.size() > maxBodyBytes) {
          // read on (discarding, bounded) so the client, still sending, gets the answer rather than a reset
          long discarded = 0;
          for (int m; discarded < 16 * maxBodyBytes && (m = in.read(buf)) > 0; ) {
            discarded += m;
          }
          throw new BodyTooLarge("request body: expected at most " + maxBodyBytes + " bytes (--rest-api-max-body-bytes), found more");
        }
      }
    }
    return out.toByteArray();
  }

  private Answer status(String model, OptionalLong version) {
    List<ServedModel.VersionStatus> all = GrpcServices.Metadata.statuses(core.models(), model, version);
    ObjectNode root = JSON.createObjectNode();
    var arr = root.putArray("model_version_status");
    for (ServedModel.VersionStatus v : all) {
      ObjectNode o = arr.addObject();
      o.put("version", Long.toString(v.version()));
      o.put("state", v.state().name());
      ObjectNode st = o.putObject("status");
      st.put("error_code", v.error().isEmpty() ? "OK" : "UNKNOWN");
      st.put("error_message", v.error());
    }
    return Answer.json(200, root);
  }

  private Answer metadata(String model, OptionalLong version) {
    GrpcServices.Metadata md = GrpcServices.Metadata.of(core.models(), model, version);
    try {
      String sigs = JsonFormat.printer().preservingProtoFieldNames().print(md.signatureDefs());
      ObjectNode root = JSON.createObjectNode();
      ObjectNode spec = root.putObject("model_spec");
      spec.put("name", md.model());
      spec.put("signature_name", "");
      spec.put("version", Long.toString(md.version()));
      ObjectNode sd = (ObjectNode) JSON.readTree(sigs);
      sd.put("@type", "type.googleapis.com/" + md.signatureDefs().getDescriptorForType().getFullName()); // as TF Serving prints the Any
      root.putObject("metadata").set("signature_def", sd);
      return Answer.json(200, root);
    } catch (InvalidProtocolBufferException | JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode parse(byte[] body) {
    JsonNode req;
    try {
      req = JSON.readTree(body);
    } catch (IOException e) {
      throw ServingException.invalid("request body: expected JSON, found malformed JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
    if (req == null || !req.isObject()) {
      throw ServingException.invalid("request body: expected a JSON object with \"instances\" or \"inputs\"");
    }
    return req;
  }

  private Answer predict(String model, OptionalLong version, byte[] body) {
    JsonNode req = parse(body);
    String signature = req.path("signature_name").asText("");
    boolean rows = req.has("instances");
    if (rows == req.has("inputs")) {
      throw ServingException.invalid("request body: expected exactly one of \"instances\" (row format) or "
          + "\"inputs\" (columnar format), found " + (rows ? "both" : "neither"));
    }
    ServedModel m = core.models().get(model);
    Servable s = m.acquire(version);
    ServingSignature sig;
    try {
      sig = s.signature(signature);
    } finally {
      s.release();
    }
    Map<String, NdValue> inputs = rows ? JsonTensors.fromInstances(req.get("instances"), sig)
        : JsonTensors.fromInputs(req.get("inputs"), sig);
    PredictionCore.Response r = core.predict(new PredictionCore.Request(model, version, "", signature, inputs,
        List.of()));
    StringWriter w = new StringWriter();
    try (JsonGenerator g = JSON.getFactory().createGenerator(w)) {
      g.writeStartObject();
      if (rows) {
        g.writeArrayFieldStart("predictions");
        Map.Entry<String, FloatArray> first = r.outputs().entrySet().iterator().next();
        int batch = (int) first.getValue().dim(sig.isTuple(first.getKey()) ? 1 : 0);
        for (int row = 0; row < batch; row++) {
          if (r.outputs().size() == 1) {
            JsonTensors.writeRow(g, r.outputs().values().iterator().next(), row, sig.isTuple(r.outputs().keySet().iterator().next()));
          } else {
            g.writeStartObject();
            for (Map.Entry<String, FloatArray> e : r.outputs().entrySet()) {
              g.writeFieldName(e.getKey());
              JsonTensors.writeRow(g, e.getValue(), row, sig.isTuple(e.getKey()));
            }
            g.writeEndObject();
          }
        }
        g.writeEndArray();
      } else {
        g.writeFieldName("outputs");
        if (r.outputs().size() == 1) {
          JsonTensors.write(g, r.outputs().values().iterator().next());
        } else {
          g.writeStartObject();
          for (Map.Entry<String, FloatArray> e : r.outputs().entrySet()) {
            g.writeFieldName(e.getKey());
            JsonTensors.write(g, e.getValue());
          }
          g.writeEndObject();
        }
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return new Answer(200, w.toString(), "application/json", Long.toString(r.version()));
  }

  /**
   * Answers new requests 503, waits up to {@code drainSeconds} for those in flight, then stops. (JDK 17's
   * {@code HttpServer.stop(delay)} waits the whole delay even when nothing is in flight, JDK-8304065; hence the
   * own count.)
   *
   * @return whether every request in flight was answered before the deadline
   */
  public boolean close(int drainSeconds) {
    draining = true;
    long deadline = System.nanoTime() + drainSeconds * 1_000_000_000L;
    synchronized (inFlightLock) {
      while (inFlight > 0 && System.nanoTime() < deadline) {
        try {
          inFlightLock.wait(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    boolean answered;
    synchronized (inFlightLock) {
      answered = inFlight == 0;
    }
    server.stop(0);
    executor.shutdown();
    try {
      executor.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return answered;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdown();
    try {
      executor.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
