/*
 * Stand-in for SubstrateVM's include/aarch64cpufeatures.h, which a GraalVM distribution ships in lib/svm/clibraries and the
 * Maven Central jars do not. The builder compiles its layout queries for every architecture's CPU features, the
 * target's or not; this declares the struct its Java side declares (com.oracle.svm.core.aarch64.AArch64LibCHelper.CPUFeatures:
 * one boolean field per CPU feature, named as the Java accessors). Written for this project from those declarations;
 * used only by src/native/compile-object, whose object file is never linked or run.
 */
#ifndef ATELIER_STANDIN_AARCH64CPUFEATURES_H
#define ATELIER_STANDIN_AARCH64CPUFEATURES_H

typedef struct {
    char fFP;
    char fASIMD;
    char fEVTSTRM;
    char fAES;
    char fPMULL;
    char fSHA1;
    char fSHA2;
    char fCRC32;
    char fLSE;
    char fDCPOP;
    char fSHA3;
    char fSHA512;
    char fSVE;
    char fSVE2;
    char fSTXR_PREFETCH;
    char fA53MAC;
    char fDMB_ATOMICS;
    char fPACA;
    char fSVEBITPERM;
    char fFPHP;
    char fASIMDHP;
} CPUFeatures;

#endif
