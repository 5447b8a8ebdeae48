/* jc_limits.h - every bound jobcell enforces on outside input, in one place. */
#ifndef JOBCELL_JC_LIMITS_H
#define JOBCELL_JC_LIMITS_H

#define JC_MAX_BODY_BYTES	(2u * 1024 * 1024)	/* request body; nginx caps too */
#define JC_MAX_JSON_TOKENS	20000u		/* tokens in one request */
#define JC_MAX_JSON_DEPTH	32		/* nesting in and out */
#define JC_MAX_NAME_CHARS	200		/* job name */
#define JC_MAX_STDIN_BYTES	(1024u * 1024)	/* job stdin */
#define JC_MAX_CODE_BYTES (1024u * 1024)	/* a code job's source */
#define JC_MAX_RUNTIMES 64			/* runtimes of one supervisor */
#define JC_MAX_COMMAND_BYTES	(256u * 1024)	/* command string */
#define JC_MAX_ARGV		1024		/* argv entries */
#define JC_MAX_ARG_BYTES	(128u * 1024)	/* one argv entry */
#define JC_MAX_ENV		256		/* env entries */
#define JC_MAX_ENV_NAME		128		/* env name bytes */
#define JC_MAX_ENV_VALUE	(32u * 1024)	/* env value bytes */
#define JC_MAX_FILES		256		/* entries of "files" */
#define JC_MAX_FILE_PATH	1024		/* bytes of one path (and cwd) */
#define JC_MAX_FILE_PART	255		/* bytes of one path component */
#define JC_MAX_FILES_BYTES	(1024u * 1024)	/* all contents together */
/* One swarm config (a swarm job's stdin, its files stream): swarmkit
 * refuses Data of 1000 KiB or more (controlapi/config.go, Docker 20.10). */
#define JC_SWARM_CONFIG_MAX (1000u * 1024 - 1)
#define JC_MAX_INPUTS 16	     /* entries of "inputs" */
#define JC_MAX_INPUT_ENTRIES 100000u /* entries of one input archive */
#define JC_ID_LEN		26		/* job id characters */
#define JC_CONSUMER_NAME_MAX	64		/* consumer name bytes */
#define JC_KEY_ID_LEN		16		/* hex chars of the key id */
#define JC_KEY_SECRET_LEN	43		/* base64url chars of 32 bytes */
#define JC_KEY_LEN		(JC_KEY_ID_LEN + 1 + JC_KEY_SECRET_LEN)
#define JC_LOG_CHUNK_BYTES	(64u * 1024)	/* one stored log chunk */
#define JC_LOG_PAGE_MAX		1000		/* entries per logs page */
#define JC_LOG_PAGE_DEFAULT	100
#define JC_LOG_PAGE_BYTES	(1024u * 1024)	/* JSON bytes of a logs page
						 * (past it: the next entry
						 * starts the next page) */
#define JC_LIST_MAX		200		/* jobs per list page */
#define JC_LIST_DEFAULT		20
#define JC_OUTPUT_CAP_DEFAULT	(16u * 1024 * 1024)	/* stored output per job */
/* A new consumer's max_storage_mb (the schema's default). */
#define JC_MAX_STORAGE_MB_DEFAULT 10240
#define JC_TIMEOUT_DEFAULT_S	60
#define JC_TIMEOUT_MAX_S	3600
#define JC_KILL_GRACE_MS	2000	/* TERM -> KILL */
#define JC_DRAIN_GRACE_MS	10000	/* worker SIGTERM -> running jobs cancelled */
#define JC_MAX_SLOTS		64
#define JC_MAX_CONSTRAINTS 8 /* swarm placement constraints of a job */
#define JC_MAX_CONSTRAINT_BYTES 128
#define JC_MAX_THREADS		256
/* Parked requests of jobcell-api (each holds one FastCGI connection fd;
 * libfcgi's close path uses select(), so all fds stay below FD_SETSIZE). */
#define JC_MAX_STREAMS		256	/* follow streams */
#define JC_MAX_WAITERS		256	/* POST /v1/run waiting for a job */
#define JC_PATH_MAX		4096
#define JC_MAX_IMAGE_BYTES	255	/* a docker image reference */
#define JC_MAX_IMAGES_BYTES	1023	/* [worker] docker_images, the list */

#endif
