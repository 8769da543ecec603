// Package gitops keeps the store in step with a directory of Task manifests
// (the manager's --manifests-dir): every *.yaml and *.yml file below it is
// applied, an edit is applied again, and a Task whose file no longer
// declares it is deleted. People keep that directory in Git and let
// `git pull` or their editor change it, so the controller is built to never
// lose or break a running Task because of a half-written or broken file.
//
// # Level-based
//
// fsnotify events carry no meaning beyond "look again": after the directory
// has been quiet for the settle window (Options.Settle) a pass reads the
// files as they are now, with the same file set and parser as
// `mkctl apply -R` (v1.ManifestFiles and v1.ParseManifests), computes which
// file declares which Task, and converges the store to that. A burst of
// events (an editor's write-and-rename save, a `git checkout` of hundreds
// of files) makes one pass, or a few when it lasts longer than ten settle
// windows. A full rescan runs at start and every Options.Resync, and
// corrects anything an event missed.
//
// # Ownership
//
// A Task applied from a file carries the annotation minkube.io/source with
// the file's path relative to the directory. A pass:
//
//   - applies each declared Task (create, or update spec, labels and
//     annotations; the generation moves only when the spec does);
//   - deletes, gracefully (metadata.deletionTimestamp, as `mkctl delete`
//     does), each Task whose annotation names a file that no longer
//     declares it, or no longer exists;
//   - moves a Task that another file now declares by rewriting the
//     annotation, so it keeps its uid and keeps running;
//   - never touches a Task without the annotation (made with mkctl): a file
//     naming one gets a Warning event (TaskNotOwned) instead;
//   - leaves a Task with the file that owns it when a second file names it
//     too: the second file gets a Warning event (DuplicateTask), and since
//     the owner is read from the stored annotation nothing flaps.
//
// # Broken and unsettled files
//
// A file that does not parse or validate changes nothing: the Tasks it owns
// keep their last good spec and are neither updated nor deleted, each
// problem is logged and recorded as a Warning event about the file
// (involvedObject kind File, name the relative path, message the
// v1.DocumentError text naming file, document and field), and the next good
// save applies. A file whose size or modification time is still moving, or
// that was changed within the settle window, is looked at again after it;
// meanwhile its Tasks are left alone too. An empty file (nothing but blank
// lines, comments and document markers) is taken as one not written yet,
// never as one that declares no Tasks: a save cut short or a truncate
// before a write must not take a service down. Its Tasks are kept, and a
// Warning event (EmptyManifest) says to delete the file to delete them.
//
// # The directory
//
// Subdirectories are watched as they appear; symbolic links to directories
// are followed, and a link swapped atomically (the "..data" pattern of a
// mounted Kubernetes ConfigMap) is seen through the event in the directory
// that holds it, after which the watches are pointed at the new target.
// Dotfiles and editor swap, backup and lock files are ignored
// (v1.IsManifestName). A directory that is missing, at start or later, is
// an error that is logged and recorded as a Warning event (kind Directory);
// the Tasks stay as they are, and sync resumes when the directory appears.
// A directory that holds no manifest files at start, or when it comes back
// after it was missing, is treated the same way until a file appears (a
// Warning, DirectoryEmpty, when Tasks came from it): a `rm -rf` and
// `git clone` under way must not delete every Task, much as Argo CD's
// automated sync refuses to prune everything. Deleting the last file of a
// directory that was watched with files in it deletes its Tasks as any
// delete does.
//
// # Limits
//
// A Task moved between two files that are saved separately, the old file
// first and more than a settle window apart, is deleted and created again:
// in between, no file declares it. Changes made by `git pull` or by one
// editor save arrive together and are seen as a move. A file written in
// parts with pauses longer than the settle window can be seen half-written;
// editors and Git write a temporary file and rename it, which is atomic.
package gitops
