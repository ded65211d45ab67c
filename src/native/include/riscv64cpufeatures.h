/*
 * Stand-in for SubstrateVM's include/riscv64cpufeatures.h, which a GraalVM distribution ships in lib/svm/clibraries and the
 * Maven Central jars do not. The builder compiles its layout queries for every architecture's CPU features, the
 * target's or not; this declares the struct its Java side declares (com.oracle.svm.core.riscv64.RISCV64LibCHelper.CPUFeatures:
 * one boolean field per CPU feature, named as the Java accessors). Written for this project from those declarations;
 * used only by src/native/compile-object, whose object file is never linked or run.
 */
#ifndef ATELIER_STANDIN_RISCV64CPUFEATURES_H
#define ATELIER_STANDIN_RISCV64CPUFEATURES_H

typedef struct {
    char fI;
    char fM;
    char fA;
    char fF;
    char fD;
    char fC;
    char fV;
} CPUFeatures;

#endif
