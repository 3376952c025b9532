// posgate console: the pages are added by the console module.
