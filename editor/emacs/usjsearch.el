;;; usjsearch.el --- Full-text search of a usjsearch index -*- lexical-binding: t -*-

;; Keywords: matching, tools
;; Package-Requires: ((emacs "25.1"))

;;; Commentary:

;; The Emacs front end of usjsearch (editor/emacs/usjsearch.el): `M-x
;; usjsearch' reads a query (with its own history), runs the command-line
;; client `usjsearch --vimgrep' asynchronously and shows the hits, one
;; paragraph per line, in a buffer derived from `grep-mode'.  So `next-error'
;; and `previous-error' (M-g n / M-g p), RET and mouse clicks jump to the
;; paragraph, at the first match; `g' runs the search again.  The query's
;; words are highlighted in the hits.
;;
;; The client asks usjsearchd when one runs for the index, and opens the index
;; file itself otherwise: nothing to configure for that.
;;
;; Installation: put this file on `load-path' (`make install' puts it in
;; $PREFIX/share/emacs/site-lisp) and
;;
;;   (autoload 'usjsearch "usjsearch" nil t)
;;   (global-set-key (kbd "C-c s") #'usjsearch)
;;
;; Options: M-x customize-group RET usjsearch.

;;; Code:

(require 'compile)
(require 'grep)
(require 'subr-x)

(defgroup usjsearch nil
  "Full-text search of a usjsearch index."
  :group 'tools
  :prefix "usjsearch-")

(defcustom usjsearch-program "usjsearch"
  "The usjsearch client: a program name on variable `exec-path' or a file name."
  :type 'string)

(defcustom usjsearch-index nil
  "Index file passed as --index, or nil for the client's default.
The default is $USJ_INDEX, else .usjsearch.idx found from the current
directory upwards."
  :type '(choice (const :tag "Client's default" nil) file))

(defcustom usjsearch-limit 100
  "Most hits asked for (--limit)."
  :type 'integer)

(defcustom usjsearch-extra-args nil
  "Extra arguments for the client, a list of strings.
For example (\"--no-server\") or (\"--server\" \"unix:/tmp/u.sock\")."
  :type '(repeat string))

(defface usjsearch-match
  '((t :inherit match))
  "Face of the query's words in the hits.")

(defvar usjsearch-history nil
  "Queries given to `usjsearch'.")

(defconst usjsearch--hit-regexp
  "^\\([^:\n]+\\):\\([0-9]+\\):\\([0-9]+\\):\\(.*\\)$"
  "A line of `usjsearch --vimgrep': path:line:column:text.")

(defun usjsearch--char-column ()
  "Character column of the hit matched by `usjsearch--hit-regexp'.
The client gives a 1-based byte column; Emacs moves by characters, so the
bytes before it in the hit's text are decoded and counted."
  (let* ((byte-col (string-to-number (match-string-no-properties 3)))
         (bytes (encode-coding-string (match-string-no-properties 4)
                                      'utf-8-unix t)))
    (if (and (> byte-col 0) (<= (1- byte-col) (length bytes)))
        (1+ (length (decode-coding-string (substring bytes 0 (1- byte-col))
                                          'utf-8-unix t)))
      byte-col)))

(defun usjsearch-command (query)
  "The client's command line for QUERY, a list of strings."
  (append (list usjsearch-program "--vimgrep" "--color=never"
                "--limit" (number-to-string usjsearch-limit))
          (and usjsearch-index
               (list "--index" (expand-file-name usjsearch-index)))
          usjsearch-extra-args
          ;; A query such as "-word" must not be read as an option.
          (and (string-prefix-p "-" query) (list "--"))
          (list query)))

(defun usjsearch-words-regexp (query)
  "A regexp matching the words of QUERY in the hits, or nil.
Operators, excluded words (-word, NOT word), fields (file:, title:,
year: ...) and number ranges are left out; `word*' matches the prefix; a
word also matches its inflections, as the index is stemmed."
  (let ((tokens (split-string query "[[:space:]()]+" t))
        (skip nil)
        (pats nil))
    (dolist (tok tokens)
      (cond
       ((and skip (not (string-prefix-p "\"" tok))) (setq skip nil))
       ((string= tok "NOT") (setq skip t))
       ((or (member tok '("OR" "AND" "|"))
            (string-prefix-p "-" tok)
            (string-match-p "\\`[[:alpha:]]+:" tok)
            (string-match-p "\\.\\.\\|[$%<>=]" tok))
        (setq skip nil))
       (t
        (setq skip nil)
        (dolist (word (split-string tok "[^[:alnum:]*]+" t))
          (let ((pat (usjsearch--word-regexp (downcase word))))
            (when (and pat (not (member pat pats)))
              (push pat pats)))))))
    (and pats
         (concat "\\(?:" (mapconcat #'identity (nreverse pats) "\\|") "\\)"))))

(defun usjsearch--word-regexp (word)
  "The regexp of one query WORD (lower case), or nil."
  (cond
   ((string-suffix-p "*" word)
    (let ((prefix (replace-regexp-in-string "\\*+\\'" "" word)))
      (and (not (string-empty-p prefix))
           (not (string-match-p "\\*" prefix))
           (concat "\\b" (regexp-quote prefix) "\\w*"))))
   ((string-match-p "\\*" word) nil)
   ((string-match-p "\\`[0-9]+\\'" word)
    (concat "\\b" word "\\b"))
   (t
    (let ((stem (replace-regexp-in-string "\\(?:ies\\|es\\|s\\|ed\\|ing\\|ly\\)\\'"
                                          "" word)))
      (if (< (length stem) 3)
          (concat "\\b" (regexp-quote word) "\\b")
        (concat "\\b" (regexp-quote stem) "\\w*"))))))

(defun usjsearch--highlight (start end)
  "Highlight the query's words in the hit lines between START and END.
Only whole lines are done: a line cut between two chunks of output is
done (again) when its end arrives."
  (let ((regexp (nth 3 compilation-arguments))
        (case-fold-search t))
    (when regexp
      (save-excursion
        (goto-char end)
        (setq end (line-beginning-position))
        (goto-char start)
        (forward-line 0)
        (while (re-search-forward usjsearch--hit-regexp end t)
          (let ((line-end (match-end 0)))
            (dolist (ov (overlays-in (match-beginning 0) line-end))
              (when (overlay-get ov 'usjsearch)
                (delete-overlay ov)))
            (goto-char (match-beginning 4))
            (while (re-search-forward regexp line-end t)
              (let ((ov (make-overlay (match-beginning 0) (match-end 0))))
                (overlay-put ov 'face 'usjsearch-match)
                (overlay-put ov 'usjsearch t)))
            (goto-char line-end)))))))

(defun usjsearch--filter ()
  "Highlight the output just inserted (`compilation-filter-hook')."
  (usjsearch--highlight compilation-filter-start (point)))

(defun usjsearch--exit-message (status code msg)
  "The mode line and buffer message when the client ends (grep's codes).
STATUS, CODE and MSG are those of `compilation-exit-message-function'."
  (if (eq status 'exit)
      (let ((hits (save-excursion
                    (goto-char (point-min))
                    (how-many usjsearch--hit-regexp))))
        (cond ((zerop code)
               (cons (format "finished with %d hit%s\n" hits
                             (if (= hits 1) "" "s"))
                     "matched"))
              ((= code 1)
               (cons "finished with no hits\n" "no match"))
              (t (cons msg code))))
    (cons msg code)))

(defun usjsearch--process-setup ()
  "Set up the buffer of a starting search (`compilation-process-setup-function')."
  ;; Erasing the buffer leaves the last search's overlays behind, empty.
  (remove-overlays (point-min) (point-max) 'usjsearch t)
  (setq-local compilation-exit-message-function #'usjsearch--exit-message))

(define-derived-mode usjsearch-mode grep-mode "usjsearch"
  "Hits of `usjsearch', one paragraph per line: path:line:column:text.
\\<usjsearch-mode-map>\\[compile-goto-error] or `next-error' visits a hit; \
\\[recompile] runs the search again.

\\{usjsearch-mode-map}"
  (setq-local compilation-error-regexp-alist
              (list (list usjsearch--hit-regexp 1 2 #'usjsearch--char-column 2)))
  ;; Columns count characters, not screen columns (tabs, wide characters).
  (setq-local compilation-error-screen-columns nil)
  (setq-local compilation-first-column 1)
  (setq-local compilation-process-setup-function #'usjsearch--process-setup)
  (remove-hook 'compilation-filter-hook #'grep-filter t)
  (add-hook 'compilation-filter-hook #'usjsearch--filter nil t))

(defun usjsearch--buffer-name (_mode)
  "Name of the hits buffer."
  "*usjsearch*")

;;;###autoload
(defun usjsearch (query)
  "Search QUERY with the usjsearch client and list the hits.
Interactively, read QUERY with the word at point as default.  The hits go
to the *usjsearch* buffer (`usjsearch-mode'); `next-error' visits them.
Returns that buffer."
  (interactive
   (let* ((word (thing-at-point 'word t))
          (prompt (if word (format "usjsearch (default %s): " word)
                    "usjsearch: ")))
     (list (read-string prompt nil 'usjsearch-history word))))
  (when (string-empty-p (string-trim query))
    (user-error "Empty query"))
  (let ((coding-system-for-read 'utf-8-unix)
        (coding-system-for-write 'utf-8-unix))
    (compilation-start (mapconcat #'shell-quote-argument
                                  (usjsearch-command query) " ")
                       #'usjsearch-mode #'usjsearch--buffer-name
                       (usjsearch-words-regexp query))))

(provide 'usjsearch)
;;; usjsearch.el ends here
