// Placeholder (helper 20a's offline checks): helper 20b's generated UDF dtEventToRow replaces this file on merge.
