# The Debian package: cpack -G DEB in the build directory (or
# `cmake --build build --target package`) writes lfm2c_VERSION_ARCH.deb with
# what `cmake --install` installs, under /usr, the binary stripped.
#
# Depends, each for a reason (tests/install/deb.sh checks that every
# shared library the binary loads is covered):
#   libc6, libllvm19, libcjson1, libutf8proc2, libxxhash0
#       the libraries lfm2c is linked against (readelf -d: NEEDED);
#       glibc 2.34 is the newest symbol version it uses
#   gcc, libc6-dev   lfm2c runs the C compiler to build lfm2-run and the
#                    runtime (--emit exe, --emit lib, the C backend)
#   libxxhash-dev    the runtime includes xxhash.h (header-only)
#   binutils         objcopy and ar make libmodel.a (--emit lib)
# Recommends pkg-config (lfm2rt.pc); Suggests the aarch64 cross toolchain
# and qemu-user (--target aarch64-linux-gnu, and running its output here).
set(LFM2C_MAINTAINER "lfm2c developers <lfm2c@invalid>" CACHE STRING
    "the Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lfm2c)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${LFM2C_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ahead-of-time compiler for Liquid AI's LFM2 language models")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "lfm2c compiles a Hugging Face checkpoint of an LFM2 model into a specialized\n"
    "LLVM object or C file, a weights blob and an inference program (lfm2-run),\n"
    "or into a static library with an API for applications (--emit lib).\n"
    "The runtime's headers, liblfm2rt.a and lfm2rt.pc are included.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libllvm19 (>= 1:19.1), libcjson1, libutf8proc2, libxxhash0, gcc, libc6-dev, libxxhash-dev, binutils")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pkg-config")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user")
include(CPack)
