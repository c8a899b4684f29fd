/**
 * Python-exported SavedModels from Java.
 *
 * <ul>
 *   <li>{@link io.github.tflxmert.savedmodel.SavedModelLocation}: a SavedModel directory, a TF Serving base
 *       directory (highest numbered version) or an HF {@code save_pretrained(saved_model=True)} directory.</li>
 *   <li>{@link io.github.tflxmert.savedmodel.SavedModelInfo}: tags, signatures (keys, tensor names, dtypes,
 *       shapes with unknown rank kept unknown, method names), op types and unsafe ops of any SavedModel, as
 *       {@code saved_model_cli show --all}-style text or JSON, read from {@code saved_model.pb} without
 *       loading it.</li>
 *   <li>{@link io.github.tflxmert.savedmodel.OpPolicy}, {@link io.github.tflxmert.savedmodel.OpInventory}:
 *       the deny-list of ops that touch files, processes or the network, and where such ops sit in the graph
 *       and its function library (call chains included; the model's own saver subgraph exempt).</li>
 *   <li>{@link io.github.tflxmert.savedmodel.SavedModelLoader}: checks, then loads, any SavedModel.</li>
 *   <li>{@link io.github.tflxmert.savedmodel.SavedModelPredictor}: an HF LXMERT SavedModel behind
 *       {@link io.github.tflxmert.LxmertPredictor}.</li>
 * </ul>
 */
package io.github.tflxmert.savedmodel;
