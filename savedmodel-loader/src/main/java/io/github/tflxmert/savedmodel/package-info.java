package io.github.tflxmert.savedmodel;
