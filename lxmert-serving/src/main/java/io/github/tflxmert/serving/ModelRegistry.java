package io.github.tflxmert.serving;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The models one server serves, by name. Built once at start; thread-safe to read. Owns the models:
 * {@link #close()} closes each.
 */
public final class ModelRegistry implements AutoCloseable {
  private final Map<String, ServedModel> models;

  public ModelRegistry(Map<String, ServedModel> models) {
    this.models = Collections.unmodifiableMap(new LinkedHashMap<>(models));
  }

  /** @throws ServingException NOT_FOUND naming the models served */
  public ServedModel get(String name) {
    ServedModel m = models.get(name);
    if (m == null) {
      throw ServingException.notFound("model_spec.name: expected one of the served models " + models.keySet()
          + ", found '" + name + "'");
    }
    return m;
  }

  public Map<String, ServedModel> all() {
    return models;
  }

  @Override
  public void close() {
    models.values().forEach(ServedModel::close);
  }
}
