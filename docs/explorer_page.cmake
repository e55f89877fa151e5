# The temperature explorer's part of the site: TEMPLATE (docs/explorer/explorer.html) with the
# chapters' data in place of its marker, written to OUT, which docs/explorer.md pulls in with
# \htmlinclude. The data is a script literal, not a fetch, so the page works from file://.
#
#   cmake -DBOOK=build/book -DTEMPLATE=docs/explorer/explorer.html -DOUT=... -P explorer_page.cmake
#
# It reads BOOK/ch03_temperature/explorer_teacher.json (images, pixels, logits) and, when chapter 5
# has run, BOOK/ch05_student/explorer_students.json; a missing file becomes null, which the page
# explains. A file that is not JSON fails the build, naming the file.
set(teacher_file ${BOOK}/ch03_temperature/explorer_teacher.json)
set(students_file ${BOOK}/ch05_student/explorer_students.json)

function(read_json path out)
  if(NOT EXISTS ${path})
    set(${out} null PARENT_SCOPE)
    return()
  endif()
  file(READ ${path} text)
  string(JSON type ERROR_VARIABLE error TYPE "${text}")
  if(error OR NOT type STREQUAL "OBJECT")
    message(FATAL_ERROR "${path}: not a JSON object (${error}); run the chapter that writes it again")
  endif()
  string(STRIP "${text}" text)
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

read_json(${teacher_file} teacher)
read_json(${students_file} students)
file(RELATIVE_PATH shown_teacher ${CMAKE_CURRENT_SOURCE_DIR} ${teacher_file})
file(RELATIVE_PATH shown_students ${CMAKE_CURRENT_SOURCE_DIR} ${students_file})
set(data "{\"teacher_file\": \"${shown_teacher}\", \"students_file\": \"${shown_students}\", \"teacher\": ${teacher}, \"students\": ${students}}")
string(JSON type ERROR_VARIABLE error TYPE "${data}")
if(error)
  message(FATAL_ERROR "explorer_page: the combined data is not JSON: ${error}")
endif()
# In a script element only "</script" (and "<!--") could end the data early; "<" appears in JSON
# only inside strings, where \u003c means the same.
string(REPLACE "<" "\\u003c" data "${data}")

file(READ ${TEMPLATE} page)
set(marker "/*KD_EXPLORER_DATA*/null")
string(FIND "${page}" "${marker}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TEMPLATE}: no ${marker} to replace")
endif()
string(REPLACE "${marker}" "${data}" page "${page}")
get_filename_component(dir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${dir})
file(WRITE ${OUT}.tmp "${page}")
file(RENAME ${OUT}.tmp ${OUT})
