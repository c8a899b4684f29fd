package io.github.tflxmert.serving;

import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import tensorflow.serving.FileSystemStoragePathSource.FileSystemStoragePathSourceConfig.ServableVersionPolicy;
import tensorflow.serving.ModelServerConfigOuterClass.ModelConfig;
import tensorflow.serving.ModelServerConfigOuterClass.ModelServerConfig;

/**
 * TF Serving's {@code --model_config_file}: the text {@code ModelServerConfig} with a {@code model_config_list}.
 * Read per model: {@code name}, {@code base_path} (relative to the file's directory when not absolute),
 * {@code model_version_policy} ({@code latest { num_versions: N }}, {@code all {}},
 * {@code specific { versions: 1 versions: 3 }}) and {@code version_labels} ({@code { key: "stable" value: 1 }}).
 * {@code model_platform} is accepted ("tensorflow" or empty); anything else in the file is refused by name.
 * Stateless.
 */
public final class ModelConfigFile {
  private ModelConfigFile() {}

  /**
   * @return model name → source, in file order
   * @throws IllegalArgumentException naming the file, the model and the field, expected and found
   */
  public static Map<String, ServedModel.Source> read(Path file) throws IOException {
    ModelServerConfig.Builder b = ModelServerConfig.newBuilder();
    try {
      TextFormat.merge(Files.readString(file, StandardCharsets.UTF_8), b);
    } catch (TextFormat.ParseException e) {
      throw new IllegalArgumentException(file + ": expected TF Serving's text ModelServerConfig "
          + "(model_config_list { config { name: ... base_path: ... } }), found a parse error: " + e.getMessage());
    }
    if (b.hasCustomModelConfig()) {
      throw new IllegalArgumentException(file + ": expected model_config_list, found custom_model_config");
    }
    Map<String, ServedModel.Source> m = new LinkedHashMap<>();
    for (ModelConfig c : b.getModelConfigList().getConfigList()) {
      if (c.getName().isEmpty() || c.getBasePath().isEmpty()) {
        throw new IllegalArgumentException(file + ": expected name and base_path in every config, found "
            + TextFormat.shortDebugString(c));
      }
      String where = file + ": model " + c.getName() + ": ";
      if (!c.getModelPlatform().isEmpty() && !c.getModelPlatform().equals("tensorflow")) {
        throw new IllegalArgumentException(where + "model_platform: expected \"tensorflow\", found \"" + c.getModelPlatform() + "\"");
      }
      if (m.containsKey(c.getName())) {
        throw new IllegalArgumentException(where + "expected each name once, found it twice");
      }
      ServedModel.VersionPolicy policy;
      try {
        policy = policy(c.getModelVersionPolicy());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + e.getMessage(), e);
      }
      Map<String, Long> labels = new LinkedHashMap<>(c.getVersionLabelsMap());
      for (Map.Entry<String, Long> l : labels.entrySet()) {
        if (l.getValue() <= 0) {
          throw new IllegalArgumentException(where + "version_labels: expected label '" + l.getKey()
              + "' to name a positive version, found " + l.getValue());
        }
        if (policy.kind() == ServedModel.VersionPolicy.Kind.SPECIFIC && !policy.versions().contains(l.getValue())) {
          throw new IllegalArgumentException(where + "version_labels: expected label '" + l.getKey() + "' to name one "
              + "of the versions of model_version_policy " + policy + ", found " + l.getValue());
        }
      }
      Path p = Path.of(c.getBasePath());
      m.put(c.getName(), ServedModel.Source.basePath(p.isAbsolute() ? p : file.toAbsolutePath().getParent().resolve(p),
          policy, labels));
    }
    if (m.isEmpty()) {
      throw new IllegalArgumentException(file + ": expected at least one model_config_list.config, found none");
    }
    return m;
  }

  static ServedModel.VersionPolicy policy(ServableVersionPolicy p) {
    return switch (p.getPolicyChoiceCase()) {
      case POLICYCHOICE_NOT_SET -> ServedModel.VersionPolicy.latest(1);
      case LATEST -> ServedModel.VersionPolicy.latest(p.getLatest().getNumVersions() == 0 ? 1 : p.getLatest().getNumVersions());
      case ALL -> ServedModel.VersionPolicy.all();
      case SPECIFIC -> ServedModel.VersionPolicy.specific(p.getSpecific().getVersionsList());
    };
  }
}
