package io.github.tflxmert.cli;

import io.github.tflxmert.savedmodel.SavedModelInfo;
import java.io.IOException;
import java.nio.file.Path;

/** SavedModel inspection through the savedmodel-loader module. */
final class SavedModelSupport {
  private SavedModelSupport() {}

  static String describe(Path dir, boolean json) throws IOException {
    return json ? SavedModelInfo.inspect(dir).toJson() : SavedModelInfo.inspect(dir).toText();
  }
}
