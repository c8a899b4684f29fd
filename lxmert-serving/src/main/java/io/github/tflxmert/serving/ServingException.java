package io.github.tflxmert.serving;

/**
 * An error a client caused (or a state it met), with the gRPC status code TF Serving would answer and the HTTP
 * status its REST API maps that code to. The message names the field or model, what was expected and what was
 * found. Immutable; thread-safe.
 */
public final class ServingException extends RuntimeException {
  /** The gRPC codes the server answers with, and TF Serving's REST mapping of each. */
  public enum Code {
    INVALID_ARGUMENT(400), NOT_FOUND(404), FAILED_PRECONDITION(400), RESOURCE_EXHAUSTED(429), UNAVAILABLE(503),
    UNIMPLEMENTED(501), INTERNAL(500);

    public final int http;

    Code(int http) {
      this.http = http;
    }
  }

  private final Code code;

  public ServingException(Code code, String message) {
    super(message);
    this.code = code;
  }

  public ServingException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Code code() {
    return code;
  }

  public static ServingException invalid(String message) {
    return new ServingException(Code.INVALID_ARGUMENT, message);
  }

  public static ServingException notFound(String message) {
    return new ServingException(Code.NOT_FOUND, message);
  }
}
