package io.github.tflxmert.cli;

import io.github.tflxmert.array.FloatArray;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Draws attention probabilities as heatmaps (white = 0, dark blue = the panel's maximum), rows = queries and
 * columns = keys, axes labelled with tokens or region indices. A picture is a grid of panels: one row per
 * (kind, layer), one column per head; or a single panel. Headless (Java2D into a BufferedImage).
 */
final class AttentionPicture {
  /** One heatmap: a [Q, K] matrix with its labels and title. */
  record Panel(String title, float[] probs, int rows, int cols, List<String> rowLabels, List<String> colLabels) {}

  private AttentionPicture() {}

  /** Panels for every head of one [B, h, Q, K] attention tensor (batch entry 0). */
  static List<Panel> panels(String kind, int layer, FloatArray att, List<String> rowLabels, List<String> colLabels,
                            Integer onlyHead) {
    int heads = (int) att.dim(1);
    int q = (int) att.dim(2);
    int k = (int) att.dim(3);
    List<Panel> out = new ArrayList<>();
    for (int h = 0; h < heads; h++) {
      if (onlyHead != null && onlyHead != h) {
        continue;
      }
      float[] m = new float[q * k];
      System.arraycopy(att.data(), h * q * k, m, 0, q * k);
      out.add(new Panel(kind + " layer " + layer + " head " + h, m, q, k, rowLabels, colLabels));
    }
    return out;
  }

  /** Renders panels in a grid with {@code columns} panels per row. */
  static BufferedImage render(List<Panel> panels, int columns, int cell) {
    int labelW = 90;
    int labelH = 70;
    int titleH = 18;
    int maxRows = panels.stream().mapToInt(Panel::rows).max().orElse(1);
    int maxCols = panels.stream().mapToInt(Panel::cols).max().orElse(1);
    Font titleFont = new Font(Font.SANS_SERIF, Font.BOLD, 12);
    int titleW = 0;   // a panel is at least as wide as the longest title, so titles never run into the next one
    Graphics2D probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    try {
      java.awt.FontMetrics fm = probe.getFontMetrics(titleFont);
      for (Panel pan : panels) {
        titleW = Math.max(titleW, fm.stringWidth(pan.title()));
      }
    } finally {
      probe.dispose();
    }
    int pw = Math.max(labelW + maxCols * cell + 16, titleW + 14);
    int ph = titleH + labelH + maxRows * cell + 16;
    int gridRows = (panels.size() + columns - 1) / columns;
    BufferedImage img = new BufferedImage(Math.max(1, Math.min(columns, panels.size())) * pw, Math.max(1, gridRows) * ph,
        BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, img.getWidth(), img.getHeight());
    Font small = new Font(Font.SANS_SERIF, Font.PLAIN, Math.max(8, Math.min(11, cell - 2)));
    for (int p = 0; p < panels.size(); p++) {
      Panel pan = panels.get(p);
      int x0 = (p % columns) * pw;
      int y0 = (p / columns) * ph;
      g.setColor(Color.BLACK);
      g.setFont(titleFont);
      g.drawString(pan.title(), x0 + 4, y0 + 14);
      int gx = x0 + labelW;
      int gy = y0 + titleH + labelH;
      float max = 1e-12f;
      for (float v : pan.probs()) {
        max = Math.max(max, v);
      }
      for (int r = 0; r < pan.rows(); r++) {
        for (int c = 0; c < pan.cols(); c++) {
          float t = Math.min(1f, pan.probs()[r * pan.cols() + c] / max);
          g.setColor(new Color(1f - 0.9f * t, 1f - 0.75f * t, 1f - 0.35f * t));
          g.fillRect(gx + c * cell, gy + r * cell, cell, cell);
        }
      }
      g.setColor(Color.GRAY);
      g.drawRect(gx, gy, pan.cols() * cell, pan.rows() * cell);
      g.setFont(small);
      g.setColor(Color.BLACK);
      for (int r = 0; r < pan.rows(); r++) {
        String s = clip(pan.rowLabels().get(r));
        g.drawString(s, gx - 4 - g.getFontMetrics().stringWidth(s), gy + r * cell + cell - 2);
      }
      AffineTransform keep = g.getTransform();
      for (int c = 0; c < pan.cols(); c++) {
        g.setTransform(keep);
        g.translate(gx + c * cell + cell - 2, gy - 4);
        g.rotate(-Math.PI / 2);
        g.drawString(clip(pan.colLabels().get(c)), 0, 0);
      }
      g.setTransform(keep);
    }
    g.dispose();
    return img;
  }

  private static String clip(String s) {
    return s.length() > 12 ? s.substring(0, 11) + "…" : s;
  }
}
