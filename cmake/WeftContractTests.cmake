# Tests of the build and install contract (API.md, "Build and install
# contract"), included from the top-level CMakeLists.txt when WEFT_BUILD_TESTS
# is on. The behaviour tests live in tests/CMakeLists.txt.
#
#   headers_c11       every public header compiles alone as strict C11
#                     (-Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror, no
#                     feature-test macros), twice in a row (include guards)
#   headers_cxx17     the same headers as C++17 (-Werror), and a C++ program
#                     that calls the library
#   exported_symbols  libweft.so exports, and libweft.a defines, only weft_ names
#   install_consumer  install, move the prefix, build a consumer through
#                     pkg-config (shared, static) and find_package(weft)
#   example_<name>    every examples/*.c builds (-Werror) and runs

# Every public header, as written in an #include: weft.h, weft/<name>.h.
# CONFIGURE_DEPENDS: a header added later is picked up by the next build.
file(GLOB _weft_hdr_paths CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/weft/*.h)
list(SORT _weft_hdr_paths)
set(WEFT_PUBLIC_HEADERS weft.h)
foreach(_p IN LISTS _weft_hdr_paths)
    get_filename_component(_n ${_p} NAME)
    list(APPEND WEFT_PUBLIC_HEADERS weft/${_n})
endforeach()

set(_weft_gen ${PROJECT_BINARY_DIR}/contract)

# One translation unit per header and language: the header alone, twice.
# file(CONFIGURE) rewrites a file only when its content changes.
set(_weft_c_tus)
set(_weft_cxx_tus)
set(_weft_all_includes "")
foreach(_h IN LISTS WEFT_PUBLIC_HEADERS)
    string(MAKE_C_IDENTIFIER "${_h}" _id)
    set(_body "/* generated: ${_h} compiles alone */\n#include <${_h}>\n#include <${_h}> /* include guard */\ntypedef int weft_header_check_${_id};\n")
    file(CONFIGURE OUTPUT ${_weft_gen}/c11/${_id}.c CONTENT "${_body}")
    file(CONFIGURE OUTPUT ${_weft_gen}/cxx17/${_id}.cpp CONTENT "${_body}")
    list(APPEND _weft_c_tus ${_weft_gen}/c11/${_id}.c)
    list(APPEND _weft_cxx_tus ${_weft_gen}/cxx17/${_id}.cpp)
    string(APPEND _weft_all_includes "#include <${_h}>\n")
endforeach()
file(CONFIGURE OUTPUT ${_weft_gen}/weft_all_headers.h
    CONTENT "/* generated: every public weft header */\n${_weft_all_includes}")

# ---- headers_c11 ------------------------------------------------------------
add_executable(headers_c11 ${PROJECT_SOURCE_DIR}/tests/cxx/headers_c11.c ${_weft_c_tus})
set_target_properties(headers_c11 PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_include_directories(headers_c11 PRIVATE ${_weft_gen})
target_compile_options(headers_c11 PRIVATE -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror)
target_link_libraries(headers_c11 PRIVATE weft_static)
add_test(NAME headers_c11 COMMAND headers_c11)
set_tests_properties(headers_c11 PROPERTIES TIMEOUT 60)

# ---- headers_cxx17 ----------------------------------------------------------
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
    enable_language(CXX)
    add_executable(headers_cxx17 ${PROJECT_SOURCE_DIR}/tests/cxx/headers_cxx.cpp ${_weft_cxx_tus})
    set_target_properties(headers_cxx17 PROPERTIES
        CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
    target_include_directories(headers_cxx17 PRIVATE ${_weft_gen})
    target_compile_options(headers_cxx17 PRIVATE -Wall -Wextra -Wpedantic -Werror)
    target_link_libraries(headers_cxx17 PRIVATE weft_static)
    add_test(NAME headers_cxx17 COMMAND headers_cxx17)
    set_tests_properties(headers_cxx17 PROPERTIES TIMEOUT 60)
else()
    message(WARNING "weft: no C++ compiler found; the headers_cxx17 test is not built")
endif()

if(WEFT_SANITIZE STREQUAL "")
    # ---- exported_symbols ---------------------------------------------------
    # (Not in sanitizer builds: instrumentation adds its own global symbols.)
    add_test(NAME exported_symbols
        COMMAND bash ${PROJECT_SOURCE_DIR}/tests/abi/check_exports.sh
                $<TARGET_FILE:weft> $<TARGET_FILE:weft_static>)
    set_tests_properties(exported_symbols PROPERTIES TIMEOUT 60)

    # ---- install_consumer ---------------------------------------------------
    # Builds and installs this source tree again (Release) in a temporary
    # directory: costs about one library build.
    add_test(NAME install_consumer
        COMMAND ${CMAKE_COMMAND} -E env CC=${CMAKE_C_COMPILER}
                bash ${PROJECT_SOURCE_DIR}/tests/install/run.sh ${PROJECT_SOURCE_DIR})
    set_tests_properties(install_consumer PROPERTIES
        TIMEOUT 300
        PROCESSORS 2)
endif()

# ---- examples ---------------------------------------------------------------
# Every examples/*.c is built (strict C11, -Werror) against the shared library
# and run as ctest example_<name>, so the code shown in the README stays true.
file(GLOB _weft_examples CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/examples/*.c)
foreach(_src IN LISTS _weft_examples)
    get_filename_component(_name ${_src} NAME_WE)
    add_executable(example_${_name} ${_src})
    target_compile_options(example_${_name} PRIVATE -Werror)
    target_link_libraries(example_${_name} PRIVATE weft Threads::Threads)
    add_test(NAME example_${_name} COMMAND example_${_name})
    set_tests_properties(example_${_name} PROPERTIES TIMEOUT 60)
endforeach()
