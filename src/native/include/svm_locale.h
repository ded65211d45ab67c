/*
 * Stand-in for SubstrateVM's include/svm_locale.h, which a GraalVM distribution ships in lib/svm/clibraries and the Maven
 * Central jars do not. The builder compiles small C programs against it to learn the layout of the struct and the values
 * of the constants its Java side declares (com.oracle.svm.core.c.locale.LocaleCHelper). Written for this project from
 * those declarations; the constants' values are this file's own. Used only by src/native/compile-object, whose object
 * file is never linked or run.
 */
#ifndef ATELIER_STANDIN_SVM_LOCALE_H
#define ATELIER_STANDIN_SVM_LOCALE_H

#define SVM_LOCALE_INITIALIZATION_SUCCEEDED 0
#define SVM_LOCALE_INITIALIZATION_OUT_OF_MEMORY 1

typedef struct {
    char *display_language;
    char *display_script;
    char *display_country;
    char *display_variant;
    char *format_language;
    char *format_script;
    char *format_country;
    char *format_variant;
} svm_locale_props_t;

#endif
