;;; editor_test.el --- checks of editor/emacs/usjsearch.el -*- lexical-binding: t -*-

;;; Commentary:

;; Loaded by tests/sh/editor_emacs.sh in `emacs --batch -Q' after the package
;; was byte-compiled with warnings as errors.  Inputs come from the
;; environment: USJ_T_PROG, USJ_T_INDEX, USJ_T_ARGS, USJ_T_S232 and
;; USJ_T_SAFETY ("path:line:bytecolumn" per line), USJ_T_PHASE (full or
;; daemon).  Exits 0 when every check passed, 1 otherwise.

;;; Code:

(require 'usjsearch)
(require 'cl-lib)

(defvar usj-t-failures 0)
(defvar usj-t-done nil)

(defun usj-t-check (what expected actual)
  "Report WHAT: EXPECTED must equal ACTUAL."
  (if (equal expected actual)
      (message "ok   %s" what)
    (setq usj-t-failures (1+ usj-t-failures))
    (message "FAIL %s\n     expected %S\n     got      %S" what expected actual)))

(defun usj-t-lines (var)
  "Non-empty lines of the environment variable VAR."
  (split-string (or (getenv var) "") "\n" t))

(add-hook 'compilation-finish-functions
          (lambda (buf msg) (when (equal (buffer-name buf) "*usjsearch*")
                              (setq usj-t-done (string-trim msg)))))

(defun usj-t-where ()
  "(file line column) of the selected window's point, column 1-based."
  (with-current-buffer (window-buffer (selected-window))
    (save-excursion
      (goto-char (window-point))
      (list (and buffer-file-name
                 (file-relative-name buffer-file-name usj-t-dir))
            (line-number-at-pos) (1+ (current-column))))))

(defvar usj-t-dir default-directory "Folder of the seed copy.")

(defun usj-t-status ()
  "The closing line of *usjsearch* (\"finished with 4 hits\"), or nil."
  (with-current-buffer "*usjsearch*"
    (save-excursion
      (goto-char (point-max))
      (and (re-search-backward "^usjsearch \\(.+\\) at " nil t)
           (match-string 1)))))

(defun usj-t-search (query)
  "Run QUERY and wait for the end; the finish message."
  (setq usj-t-done nil)
  (let ((buf (usjsearch query))
        (deadline (+ (float-time) 30)))
    (while (and (not usj-t-done) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (and usj-t-done (usj-t-status))))

(defun usj-t-hits ()
  "The hits of *usjsearch*: (\"path:line:bytecolumn\" ...), sorted."
  (with-current-buffer "*usjsearch*"
    (save-excursion
      (goto-char (point-min))
      (let (hits)
        (while (re-search-forward usjsearch--hit-regexp nil t)
          (push (format "%s:%s:%s" (match-string 1) (match-string 2)
                        (match-string 3))
                hits))
        (sort hits #'string<)))))

(defun usj-t-char-column (file line bytecol)
  "Character column (1-based) of byte column BYTECOL of LINE in FILE."
  (with-temp-buffer
    (let ((coding-system-for-read 'utf-8-unix))
      (insert-file-contents file))
    (goto-char (point-min))
    (forward-line (1- line))
    (1+ (length (decode-coding-string
                 (substring (encode-coding-string
                             (buffer-substring (point) (line-end-position))
                             'utf-8-unix t)
                            0 (1- bytecol))
                 'utf-8-unix t)))))

(defun usj-t-run ()
  "Every check."
  (setq usjsearch-program (getenv "USJ_T_PROG")
        usjsearch-index (getenv "USJ_T_INDEX")
        usjsearch-extra-args (split-string (or (getenv "USJ_T_ARGS") "") " " t))
  (usj-t-check "default limit" 100 usjsearch-limit)
  ;; Asynchrony, made deterministic by a client that takes two seconds: the
  ;; command must return while that client still runs.
  (let* ((slow (make-temp-file "usj-slow" nil ".sh"
                               (format "#!/bin/sh\nsleep 2\nexec %s \"$@\"\n"
                                       (shell-quote-argument
                                        usjsearch-program))))
         (usjsearch-program slow))
    (set-file-modes slow #o755)
    (setq usj-t-done nil)
    (let ((buf (usjsearch "\"Section 232\""))
          (deadline (+ (float-time) 30)))
      (usj-t-check "the search runs asynchronously" t
                   (and (processp (get-buffer-process buf)) (not usj-t-done)))
      (while (and (not usj-t-done) (< (float-time) deadline))
        (accept-process-output nil 0.05))
      (usj-t-check "the slow search finishes" "finished with 4 hits"
                   (and usj-t-done (usj-t-status))))
    (delete-file slow))
  (let ((s232 (sort (usj-t-lines "USJ_T_S232") #'string<)))
    ;; The query and its hits in a grep-mode buffer.
    (usj-t-check "\"Section 232\" finishes" "finished with 4 hits"
                 (usj-t-search "\"Section 232\""))
    (usj-t-check "hits of \"Section 232\"" s232 (usj-t-hits))
    (with-current-buffer "*usjsearch*"
      (usj-t-check "mode derived from grep-mode" t
                   (and (derived-mode-p 'grep-mode) t))
      (usj-t-check "command line shown" t
                   (and (string-match-p "--vimgrep" (buffer-string)) t))
      (usj-t-check "matches highlighted"
                   (make-list (* 2 (length s232)) 'usjsearch-match)
                   (mapcar (lambda (ov) (overlay-get ov 'face))
                           (cl-remove-if-not
                            (lambda (ov) (overlay-get ov 'usjsearch))
                            (overlays-in (point-min) (point-max)))))
      (usj-t-check "highlighted words" '("232" "section")
                   (sort (delete-dups
                          (mapcar (lambda (ov)
                                    (downcase (buffer-substring
                                               (overlay-start ov) (overlay-end ov))))
                                  (overlays-in (point-min) (point-max))))
                         #'string<))
      (goto-char (point-min)))
    ;; next-error visits every hit at its first match, in buffer order.
    (let ((in-order (with-current-buffer "*usjsearch*"
                      (save-excursion
                        (goto-char (point-min))
                        (let (l)
                          (while (re-search-forward usjsearch--hit-regexp nil t)
                            (push (list (match-string 1)
                                        (string-to-number (match-string 2))
                                        (string-to-number (match-string 3)))
                                  l))
                          (nreverse l)))))
          (visited nil))
      (dotimes (i (length in-order))
        (if (= i 0) (next-error 1 t) (next-error 1))
        (push (usj-t-where) visited))
      (usj-t-check "next-error visits the hits at the match"
                   (mapcar (lambda (h)
                             (list (nth 0 h) (nth 1 h)
                                   (usj-t-char-column (nth 0 h) (nth 1 h) (nth 2 h))))
                           in-order)
                   (nreverse visited))
      (usj-t-check "next-error visits seeds/004_… line 2" t
                   (and (member (list "seeds/004_34c4a962b3f42fed.txt" 2)
                                (mapcar (lambda (h) (list (nth 0 h) (nth 1 h)))
                                        in-order))
                        t))
      (usj-t-check "point is at \"Section 232\"" "Section 232"
                   (with-current-buffer (window-buffer (selected-window))
                     (let ((p (window-point)))
                       (buffer-substring p (min (point-max) (+ p 11))))))
      (when (> (length in-order) 1)
        (previous-error 1)
        (usj-t-check "previous-error goes back"
                     (list (nth 0 (nth (- (length in-order) 2) in-order))
                           (nth 1 (nth (- (length in-order) 2) in-order)))
                     (butlast (usj-t-where)))))
    (unless (equal (getenv "USJ_T_PHASE") "daemon")
      ;; g runs the same search again.
      (with-current-buffer "*usjsearch*"
        (usj-t-check "g is recompile" 'recompile (key-binding "g"))
        (setq usj-t-done nil)
        (let ((deadline (+ (float-time) 30)))
          (recompile)
          (while (and (not usj-t-done) (< (float-time) deadline))
            (accept-process-output nil 0.05)))
        (usj-t-check "g: same hits" s232 (usj-t-hits))
        (usj-t-check "g: highlighted again" t
                     (and (cl-some (lambda (ov) (overlay-get ov 'usjsearch))
                                   (overlays-in (point-min) (point-max)))
                          t)))
      ;; Another query, no hits, an error.
      (usj-t-check "\"safety clause\" finishes" "finished with 2 hits"
                   (usj-t-search "\"safety clause\""))
      (usj-t-check "hits of \"safety clause\""
                   (sort (usj-t-lines "USJ_T_SAFETY") #'string<) (usj-t-hits))
      (usj-t-check "no hits" "finished with no hits" (usj-t-search "zzqxjvw"))
      (usj-t-check "malformed query: exit 2" t
                   (and (string-match-p "exited abnormally with code 2"
                                        (usj-t-search "\"unterminated"))
                        t))
      ;; Pieces.
      (usj-t-check "command line"
                   (list usjsearch-program "--vimgrep" "--color=never" "--limit" "100")
                   (cl-subseq (usjsearch-command "x") 0 5))
      (usj-t-check "-word is not an option" '("--" "-steel")
                   (last (usjsearch-command "-steel") 2))
      (usj-t-check "nothing to highlight" nil
                   (usjsearch-words-regexp "-tariff NOT steel file:seeds/* $1t.. 30%..40%"))
      (let ((re (usjsearch-words-regexp "semicond* OR \"safety clauses\" -steel"))
            (case-fold-search t))
        (usj-t-check "prefix highlighted" 0 (string-match re "Semiconductors"))
        (usj-t-check "inflection highlighted" 4 (string-match re "one clause"))
        (usj-t-check "excluded word not highlighted" nil (string-match re "steel")))
      ;; Interactively: the word at point is the default, with our history.
      (let (asked)
        (cl-letf (((symbol-function 'read-string)
                   (lambda (_prompt _initial hist default)
                     (setq asked (list hist default))
                     "\"Section 232\"")))
          (with-temp-buffer
            (insert "the tariffs")
            (goto-char 7)
            (setq usj-t-done nil)
            (call-interactively #'usjsearch)))
        (usj-t-check "query read with history and word at point"
                     '(usjsearch-history "tariffs") asked)
        (let ((deadline (+ (float-time) 30)))
          (while (and (not usj-t-done) (< (float-time) deadline))
            (accept-process-output nil 0.05)))
        (usj-t-check "interactive search" s232 (usj-t-hits))))))

(condition-case err
    (usj-t-run)
  (error (setq usj-t-failures (1+ usj-t-failures))
         (message "FAIL error: %S" err)))
(message "%d failure(s)" usj-t-failures)
(kill-emacs (if (zerop usj-t-failures) 0 1))

;;; editor_test.el ends here
