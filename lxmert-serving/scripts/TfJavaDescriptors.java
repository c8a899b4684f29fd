import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Step 2 of derive_tfs_descriptors.py (run as a single-file Java program with TF Java and protobuf-java on the
 * class path): reads the descriptor set dumped from the tensorflow-serving-api wheel, keeps its
 * tensorflow_serving/ files, replaces every other file (tensorflow/core/..., tsl/..., google/protobuf/...) by
 * the descriptor TF Java 1.1.0 (or protobuf-java) compiled in, after checking that every message and enum the
 * serving files can reach has the same fields (number, name, type, label, type name) and values in both, and
 * writes the merged set in dependency order.
 *
 * <p>Usage: java -cp JARS TfJavaDescriptors.java IN.pb OUT.pb JAR... (the jars are scanned for generated
 * outer classes). Prints one line per file: "serving NAME", "replaced NAME by CLASS", "difference ...".
 */
public final class TfJavaDescriptors {
  public static void main(String[] args) throws Exception {
    FileDescriptorSet in = FileDescriptorSet.parseFrom(Files.readAllBytes(Path.of(args[0])));
    Map<String, FileDescriptor> java = new TreeMap<>();
    Map<String, String> javaClass = new TreeMap<>();
    for (int i = 2; i < args.length; i++) {
      scan(Path.of(args[i]), java, javaClass);
    }
    Map<String, FileDescriptorProto> byName = new LinkedHashMap<>();
    int differences = 0;
    for (FileDescriptorProto f : in.getFileList()) {
      if (f.getName().startsWith("tensorflow_serving/")) {
        byName.put(f.getName(), f);
        System.out.println("serving " + f.getName());
        continue;
      }
      FileDescriptor j = java.get(f.getName());
      if (j == null) {
        throw new IllegalStateException(f.getName() + ": expected a descriptor compiled into TF Java or protobuf-java, found none");
      }
      FileDescriptorProto jp = j.toProto();
      List<String> diff = new ArrayList<>();
      compare(f.getPackage(), f.getMessageTypeList(), jp.getMessageTypeList(), f.getName(), diff);
      compareEnums(f.getPackage(), f.getEnumTypeList(), jp.getEnumTypeList(), diff);
      for (String d : diff) {
        System.out.println("difference " + f.getName() + ": " + d);
      }
      differences += diff.size();
      byName.put(f.getName(), jp);
      System.out.println("replaced " + f.getName() + " by " + javaClass.get(f.getName()));
      // TF Java's file may import files the Python one does not: add them too
      addDeps(j, byName, javaClass);
    }
    if (differences > 0) {
      throw new IllegalStateException(differences + " difference(s) between the wheel's and TF Java's messages; see above");
    }
    // dependency order: every file after its imports (protoc --descriptor_set_in does not need it; readers may)
    List<FileDescriptorProto> ordered = new ArrayList<>();
    java.util.Set<String> done = new java.util.HashSet<>();
    for (String n : byName.keySet()) {
      order(n, byName, done, ordered);
    }
    Files.write(Path.of(args[1]), FileDescriptorSet.newBuilder().addAllFile(ordered).build().toByteArray());
  }

  private static void addDeps(FileDescriptor j, Map<String, FileDescriptorProto> byName, Map<String, String> cls) {
    for (FileDescriptor d : j.getDependencies()) {
      if (!byName.containsKey(d.getName())) {
        byName.put(d.getName(), d.toProto());
        System.out.println("added " + d.getName() + " (imported by TF Java's " + j.getName() + ")");
        addDeps(d, byName, cls);
      }
    }
  }

  private static void order(String n, Map<String, FileDescriptorProto> byName, java.util.Set<String> done,
                            List<FileDescriptorProto> out) {
    if (!done.add(n)) {
      return;
    }
    FileDescriptorProto f = byName.get(n);
    if (f == null) {
      throw new IllegalStateException(n + ": imported but absent from the set");
    }
    for (String d : f.getDependencyList()) {
      order(d, byName, done, out);
    }
    out.add(f);
  }

  private static void compare(String scope, List<DescriptorProto> a, List<DescriptorProto> b, String file, List<String> diff) {
    Map<String, DescriptorProto> bm = new TreeMap<>();
    b.forEach(m -> bm.put(m.getName(), m));
    for (DescriptorProto m : a) {
      String full = scope + "." + m.getName();
      DescriptorProto o = bm.get(m.getName());
      if (o == null) {
        diff.add("message " + full + " missing in TF Java");
        continue;
      }
      Map<Integer, String> fa = fields(m), fb = fields(o);
      if (!fa.equals(fb)) {
        diff.add("message " + full + ": wheel " + fa + " vs TF Java " + fb);
      }
      compare(full, m.getNestedTypeList(), o.getNestedTypeList(), file, diff);
      compareEnums(full, m.getEnumTypeList(), o.getEnumTypeList(), diff);
    }
  }

  private static Map<Integer, String> fields(DescriptorProto m) {
    Map<Integer, String> r = new TreeMap<>();
    for (FieldDescriptorProto f : m.getFieldList()) {
      r.put(f.getNumber(), f.getName() + ":" + f.getType() + ":" + f.getLabel() + ":" + f.getTypeName());
    }
    return r;
  }

  private static void compareEnums(String scope, List<EnumDescriptorProto> a, List<EnumDescriptorProto> b, List<String> diff) {
    Map<String, EnumDescriptorProto> bm = new TreeMap<>();
    b.forEach(e -> bm.put(e.getName(), e));
    for (EnumDescriptorProto e : a) {
      EnumDescriptorProto o = bm.get(e.getName());
      Map<Integer, String> va = new TreeMap<>(), vb = new TreeMap<>();
      e.getValueList().forEach(v -> va.put(v.getNumber(), v.getName()));
      if (o != null) {
        o.getValueList().forEach(v -> vb.put(v.getNumber(), v.getName()));
      }
      if (!va.equals(vb)) {
        diff.add("enum " + scope + "." + e.getName() + ": wheel " + va + " vs TF Java " + vb);
      }
    }
  }

  /** Every generated outer class (a public static getDescriptor() returning FileDescriptor) in a jar. */
  private static void scan(Path jar, Map<String, FileDescriptor> out, Map<String, String> cls) throws IOException {
    try (JarFile jf = new JarFile(jar.toFile())) {
      Enumeration<JarEntry> en = jf.entries();
      while (en.hasMoreElements()) {
        String n = en.nextElement().getName();
        if (!n.endsWith(".class") || n.contains("$") || !(n.startsWith("org/tensorflow/proto/") || n.startsWith("com/google/protobuf/"))) {
          continue;
        }
        String c = n.substring(0, n.length() - 6).replace('/', '.');
        try {
          Class<?> k = Class.forName(c, false, TfJavaDescriptors.class.getClassLoader());
          Method m = k.getMethod("getDescriptor");
          if (Modifier.isStatic(m.getModifiers()) && m.getReturnType() == FileDescriptor.class) {
            FileDescriptor fd = (FileDescriptor) m.invoke(null);
            if (out.putIfAbsent(fd.getName(), fd) == null) {
              cls.put(fd.getName(), c);
            }
          }
        } catch (ReflectiveOperationException | LinkageError e) {
          // not a generated outer class
        }
      }
    }
  }
}
