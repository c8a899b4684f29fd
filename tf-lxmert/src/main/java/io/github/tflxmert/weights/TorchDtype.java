package io.github.tflxmert.weights;

/**
 * PyTorch element types as a checkpoint names them: the dtype global ({@code torch.float16}), the typed storage
 * class of the ones that have one ({@code torch.HalfStorage}), the numpy spelling {@link WeightSource.Entry}
 * uses, and the element size in bytes.
 */
enum TorchDtype {
  FLOAT32("float32", "FloatStorage", 4),
  FLOAT64("float64", "DoubleStorage", 8),
  FLOAT16("float16", "HalfStorage", 2),
  BFLOAT16("bfloat16", "BFloat16Storage", 2),
  INT64("int64", "LongStorage", 8),
  INT32("int32", "IntStorage", 4),
  INT16("int16", "ShortStorage", 2),
  INT8("int8", "CharStorage", 1),
  UINT8("uint8", "ByteStorage", 1),
  BOOL("bool", "BoolStorage", 1),
  COMPLEX64("complex64", "ComplexFloatStorage", 8),
  COMPLEX128("complex128", "ComplexDoubleStorage", 16),
  // Dtypes without a typed storage class: torch.save writes them as UntypedStorage + _rebuild_tensor_v3.
  UINT16("uint16", null, 2),
  UINT32("uint32", null, 4),
  UINT64("uint64", null, 8),
  FLOAT8_E4M3FN("float8_e4m3fn", null, 1),
  FLOAT8_E5M2("float8_e5m2", null, 1),
  FLOAT8_E4M3FNUZ("float8_e4m3fnuz", null, 1),
  FLOAT8_E5M2FNUZ("float8_e5m2fnuz", null, 1);

  /** numpy spelling, also the attribute name of the dtype global ({@code torch.<name>}). */
  final String numpyName;
  /** Typed storage class name in module {@code torch}, or null. */
  final String storageClass;
  final int size;

  TorchDtype(String numpyName, String storageClass, int size) {
    this.numpyName = numpyName;
    this.storageClass = storageClass;
    this.size = size;
  }

  static TorchDtype ofDtypeGlobal(String name) {
    for (TorchDtype d : values()) {
      if (d.numpyName.equals(name)) {
        return d;
      }
    }
    return null;
  }

  static TorchDtype ofStorageClass(String name) {
    for (TorchDtype d : values()) {
      if (name.equals(d.storageClass)) {
        return d;
      }
    }
    return null;
  }
}
